// One namespace: its configs (key search, pages, formatted values), a new-config form, a batch
// editor, and a live feed of changes made by anyone, from the SSE watch stream. "View as of"
// re-reads the namespace as it was at a past instant (GET /api/v1/config/namespace/{ns}?at=…)
// and shows it read-only until "Now".
import { get, post, settle } from './api.js';
import { can } from './auth.js';
import { batchEditor } from './batch.js';
import { attempt, enc, field, fmtTime, h, pretty, render, toast } from './dom.js';
import { jsonEditor } from './editor.js';
import { schemaChecker } from './schema.js';
import { pager } from './pager.js';
import { transferBox } from './transfer.js';
import { namespaceExtras } from './releases.js';
import { watchNamespace } from './watch.js';

async function namespaceInfo(ns) {
  const data = await get('/api/v1/admin/namespace/list', { name: ns, page_size: 1000 });
  const info = data.list.find((n) => n.name === ns);
  if (!info) throw Object.assign(new Error(`namespace ${ns} does not exist`), { code: 40402, status: 404 });
  return info;
}

const PAST_PAGE_SIZE = 20;

/// The `at` sent for a Date: RFC 3339 in UTC, to the second when it has no milliseconds (the
/// control's step), which the API reads as that whole second, like every time it shows.
const atParam = (d) => d.toISOString().replace('.000Z', 'Z');

export async function namespaceView(main, ns) {
  const info = await namespaceInfo(ns);
  // at: the Date being viewed, or null for the current configs.
  const state = { key: '', page: 1, at: null };
  const list = h('div', { class: 'list' });
  const errors = h('div', { class: 'inline-errors', role: 'alert' });
  const liveState = h('p', { class: 'live-state muted', 'aria-live': 'polite' }, 'connecting…');
  const feed = h('ol', { class: 'feed', 'aria-label': 'Live changes' });

  async function load() {
    if (state.at) return loadPast(state.at);
    const data = await attempt(() => get('/api/v1/admin/config/list',
      { namespace: ns, key: state.key, page: state.page, page_size: 20 }), errors);
    if (!data || state.at) return;  // the user switched to a past view meanwhile
    render(list, data.list.length ? table(data.list) : h('p', { class: 'muted' }, 'No configs.'),
      pager(data.pagination, (p) => { state.page = p; load(); }));
  }

  // The enabled configs as they were at `at` (the API answers the whole namespace: search and
  // pages are applied here).
  async function loadPast(at) {
    const data = await attempt(() => get(`/api/v1/config/namespace/${enc(ns)}`, { at: atParam(at) }), errors);
    if (state.at !== at) return;  // superseded by another time or by Now
    if (!data) {
      render(list, pastBanner(at, null));
      return;
    }
    // Keys whose version of then retention has removed since are listed without a value.
    const rows = [...Object.entries(data.configs ?? {}), ...(data.unavailable ?? []).map((k) => [k, undefined])]
      .filter(([k]) => k.includes(state.key)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const pages = Math.max(1, Math.ceil(rows.length / PAST_PAGE_SIZE));
    state.page = Math.min(state.page, pages);
    const shown = rows.slice((state.page - 1) * PAST_PAGE_SIZE, state.page * PAST_PAGE_SIZE);
    render(list, pastBanner(at, data.version),
      shown.length ? pastTable(shown, at) : h('p', { class: 'muted' }, 'No configs at that time.'),
      pager({ page: state.page, total_pages: pages, total: rows.length }, (p) => { state.page = p; load(); }));
  }

  function pastBanner(at, revision) {
    return h('p', { class: 'past-banner', role: 'status' },
      h('strong', {}, 'Historical view (read-only)'),
      `: the configs as they were at ${fmtTime(atParam(at))}${revision ? ` (revision ${revision})` : ''}. `,
      'Editing is disabled; choose ', h('em', {}, 'Now'), ' to return to the current configs.');
  }

  function pastTable(rows, at) {
    return h('table', { class: 'grid past', 'aria-label': 'Configs as of', 'data-at': atParam(at) },
      h('thead', {}, h('tr', {}, ['Key', 'Value'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map(([key, value]) => h('tr', { 'data-key': key },
        h('td', {}, h('a', { href: `#/ns/${enc(ns)}/key/${enc(key)}`, title: 'the current config' }, key)),
        h('td', {}, value === undefined
          ? h('span', { class: 'muted unavailable' }, 'unavailable: retention has removed the version of then')
          : h('pre', { class: 'json' }, pretty(value)))))));
  }

  function table(rows) {
    return h('table', { class: 'grid', 'aria-label': 'Configs' },
      h('thead', {}, h('tr', {}, ['Key', 'Version', 'Status', 'Updated', 'By', 'Value']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((c) => h('tr', { 'data-key': c.key },
        h('td', {}, h('a', { href: `#/ns/${enc(ns)}/key/${enc(c.key)}` }, c.key)),
        h('td', { class: 'num version', 'data-label': 'version' }, c.version),
        h('td', {}, h('span', { class: `badge ${c.status ? 'on' : 'off'}` }, c.status ? 'enabled' : 'disabled')),
        h('td', { 'data-label': 'updated' }, fmtTime(c.updated_at)), h('td', { 'data-label': 'by' }, c.updated_by),
        h('td', {}, h('details', {}, h('summary', {}, 'show'), h('pre', { class: 'json' }, pretty(c.value))))))));
  }

  const search = h('input', { type: 'search', placeholder: 'part of a key',
    oninput: () => { state.key = search.value; state.page = 1; load(); } });

  // A datetime-local value is the browser's local time; it is sent as UTC (toISOString).
  const asOf = h('input', { type: 'datetime-local', step: 1,
    onchange: () => {
      const at = asOf.value ? new Date(asOf.value) : null;
      viewAt(at && !Number.isNaN(at.getTime()) ? at : null);
    } });
  const nowButton = h('button', { type: 'button', disabled: true, onclick: () => { asOf.value = ''; viewAt(null); } }, 'Now');
  // Every write control of the page sits in this fieldset, disabled while viewing the past.
  const writeTools = h('fieldset', { class: 'plain write-tools' });

  function viewAt(at) {
    state.at = at;
    state.page = 1;
    nowButton.disabled = !at;
    writeTools.disabled = Boolean(at);
    errors.replaceChildren();  // an error of the previous view no longer applies
    load();
  }

  const newKey = h('input', { required: true, pattern: '[A-Za-z0-9._:/\\-]{1,256}', autocomplete: 'off' });
  const newDesc = h('input', { maxlength: 512 });
  const createBox = h('details', { class: 'card' }, h('summary', {}, 'New config'),
    field('Key', newKey), field('Description', newDesc),
    jsonEditor({
      errors,
      check: schemaChecker(ns, () => newKey.value),
      onSave: async (value) => {
        if (!newKey.reportValidity()) return;
        const made = await post('/api/v1/admin/config', { namespace: ns, key: newKey.value, value, description: newDesc.value });
        await settle(async () => (await get('/api/v1/admin/config/list', { namespace: ns, key: made.key, page_size: 1000 }))
          .list.some((c) => c.key === made.key && c.version >= made.version));
        toast(`Created ${made.key} v${made.version}`);
        location.hash = `#/ns/${enc(ns)}/key/${enc(made.key)}`;
      },
    }));
  if (!can('write', ns)) createBox.hidden = true;

  const batchBox = batchEditor({
    ns,
    // This node may be a follower: wait until it has applied the batch, then list.
    onWritten: async (r) => {
      await settle(async () => (await namespaceInfo(ns)).revision >= r.revision);
      await load();
    },
  });
  if (!can('write', ns)) batchBox.hidden = true;

  // Import and export (docs/import-export.md).
  const transfer = transferBox(ns, { onImported: () => load() });
  if (!can('write', ns)) transfer.hidden = true;

  writeTools.append(createBox, batchBox, transfer);
  const extras = namespaceExtras(ns, { revision: () => info.revision });
  render(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/namespaces' }, 'Namespaces'), ' / ', ns),
    h('h1', {}, ns, ' ', h('span', { class: `badge ${info.status ? 'on' : 'off'}` }, info.status ? 'enabled' : 'disabled')),
    extras.banner,
    info.description ? h('p', {}, info.description) : null,
    h('p', { class: 'muted' }, `${info.config_count} configs · revision ${info.revision} · retention keeps ${info.retention?.keep_latest} versions / ${info.retention?.keep_days} days`),
    extras.tabs(h('div', { class: 'cols' },
      h('section', { 'aria-label': 'Configs' },
        h('div', { class: 'row wrap' }, field('Search keys', search),
          h('div', { class: 'row as-of' }, field('View as of', asOf), nowButton)),
        errors, list, writeTools),
      h('section', { class: 'card live', 'aria-label': 'Live updates' }, h('h2', {}, 'Live'), liveState, feed))));
  await load();

  const stopWatch = watchNamespace(ns, info.revision, {
    onChange: (c) => {
      info.revision = Math.max(info.revision, c.revision ?? 0);
      feed.prepend(h('li', {}, h('code', {}, c.key), ` ${c.operation} v${c.version} (revision ${c.revision})`));
      while (feed.children.length > 50) feed.lastChild.remove();
      load();
    },
    onReset: async () => {
      load();
      return (await namespaceInfo(ns)).revision;
    },
    onState: (s, text) => {
      liveState.textContent = `${s === 'live' ? '● live' : '○ not live'}: ${text}`;
      liveState.className = `live-state ${s}`;
    },
  });
  return () => {
    stopWatch();
    extras.stop();
  };
}
