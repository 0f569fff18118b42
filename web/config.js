// One key: its value, the editor (compare-and-set on the version it was loaded at), history
// timeline, versions with side-by-side comparison, rollback, tags, enable/disable and delete.
import { call, get, post, put, settle } from './api.js';
import { can } from './auth.js';
import { changesTable, diffView, jsonChanges } from './diff.js';
import { attempt, confirmDialog, enc, field, fmtTime, h, pretty, render, showError, toast } from './dom.js';
import { jsonEditor } from './editor.js';
import { schemaChecker } from './schema.js';
import { pager } from './pager.js';
import { secretValue } from './secrets.js';

const opClass = { CREATE: 'on', UPDATE: 'info', ROLLBACK: 'warn', DELETE: 'off', ENABLE: 'on', DISABLE: 'off' };

export async function configView(main, ns, key) {
  const q = { namespace: ns, key };
  const errors = h('div', { class: 'inline-errors', role: 'alert' });
  const found = await get('/api/v1/admin/config/list', { namespace: ns, key, page_size: 1000 });
  const cfg = found.list.find((c) => c.key === key);
  const write = can('write', ns);

  async function conflictAware(fn) {
    try {
      return await fn();
    } catch (e) {
      const box = showError(e, errors);
      if (e.code === 40901) {
        box.append(h('p', {}, 'Someone changed this config after you opened it; nothing was written. ',
          h('button', { type: 'button', onclick: () => configView(main, ns, key) }, 'Reload the current version')));
      }
      return undefined;
    }
  }

  const reload = () => configView(main, ns, key);
  // After a write: wait until this node has applied it (it may be a follower), then reload.
  const lookup = async () => (await get('/api/v1/admin/config/list', { namespace: ns, key, page_size: 1000 }))
    .list.find((c) => c.key === key) ?? null;
  const reloadWhen = async (pred) => { await settle(async () => pred(await lookup())); return reload(); };

  const current = cfg
    ? h('section', { class: 'card', 'aria-label': 'Current value' },
      h('h2', {}, `Current value · v${cfg.version}`),
      h('p', { class: 'muted' }, `${cfg.status ? 'enabled' : 'disabled'} · updated ${fmtTime(cfg.updated_at)} by ${cfg.updated_by}`,
        cfg.description ? ` · ${cfg.description}` : ''),
      cfg.secret ? secretValue(ns, key, errors) : h('pre', { class: 'json', id: 'current-value' }, pretty(cfg.value)),
      h('div', { class: 'row wrap' },
        h('button', { type: 'button', disabled: !write, onclick: async () => {
          if (await conflictAware(() => put('/api/v1/admin/config', { ...q, status: cfg.status ? 0 : 1, expected_version: cfg.version }))) {
            await reloadWhen((c) => c && c.status !== cfg.status);
          }
        } }, cfg.status ? 'Disable' : 'Enable'),
        h('button', { type: 'button', class: 'danger', disabled: !write, onclick: async () => {
          const ok = await confirmDialog(`Delete ${key}?`, h('p', {}, 'Its versions stay readable; re-creating it continues the version numbers.'), 'Delete');
          if (ok && await conflictAware(() => call('DELETE', '/api/v1/admin/config', { body: { ...q, expected_version: cfg.version } }))) {
            await settle(async () => (await lookup()) === null);
            toast(`${key} deleted`);
            location.hash = `#/ns/${enc(ns)}`;
          }
        } }, 'Delete')))
    : h('section', { class: 'card' }, h('p', {}, 'This key does not exist now (deleted); its history and versions follow.'));

  const editor = cfg && write ? h('section', { class: 'card', 'aria-label': 'Edit' }, h('h2', {}, 'Edit'),
    // A secret's editor starts empty: the stored value is never put in the page to be edited.
    jsonEditor({ current: cfg.secret ? undefined : cfg.value, version: cfg.version, errors, check: schemaChecker(ns, () => key), onSave: async (value) => {
      const r = await conflictAware(() => put('/api/v1/admin/config', { ...q, value, expected_version: cfg.version }));
      if (r) { toast(`Saved ${key} v${r.version}`); await reloadWhen((c) => c && c.version >= r.version); }
    } })) : null;

  const history = h('section', { class: 'card', 'aria-label': 'History' }, h('h2', {}, 'History'));
  const versions = h('section', { class: 'card', 'aria-label': 'Versions' }, h('h2', {}, 'Versions'));

  render(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/namespaces' }, 'Namespaces'), ' / ',
      h('a', { href: `#/ns/${enc(ns)}` }, ns), ' / ', key),
    h('h1', {}, key), errors, current, editor, versions, history);

  await Promise.all([loadHistory(history, q, 1, errors), loadVersions(versions, q, cfg, errors, reloadWhen, write)]);
}

async function loadHistory(box, q, page, errors) {
  const data = await attempt(() => get('/api/v1/admin/config/history', { ...q, page, page_size: 20 }), errors);
  if (!data) return;
  render(box, h('h2', {}, 'History'),
    h('ol', { class: 'timeline' }, data.list.map((e) => h('li', { class: 'event' },
      h('span', { class: `badge ${opClass[e.operation] ?? ''}` }, e.operation),
      ` v${e.version} · `, h('strong', {}, e.operator), ' · ', h('time', { datetime: e.created_at }, fmtTime(e.created_at)),
      e.operation === 'ENABLE' || e.operation === 'DISABLE' ? null
        : h('details', {}, h('summary', {}, 'changes'), changesTable(jsonChanges(e.old_value, e.new_value)))))),
    pager(data.pagination, (p) => loadHistory(box, q, p, errors)));
}

async function loadVersions(box, q, cfg, errors, reloadWhen, write) {
  const data = await attempt(() => get('/api/v1/admin/config/versions', { ...q, page_size: 200 }), errors);
  if (!data) return;
  const list = data.list;
  const byVersion = new Map(list.map((v) => [v.version, v]));
  const options = () => list.map((v) => h('option', { value: String(v.version) }, `v${v.version}${v.is_current ? ' (current)' : ''}`));
  const left = h('select', { value: String(list[Math.min(1, list.length - 1)]?.version ?? '') }, options());
  const right = h('select', { value: String(list[0]?.version ?? '') }, options());
  const result = h('div', { class: 'compare-result', 'aria-live': 'polite' });

  async function compare() {
    const from = Number(left.value);
    const to = Number(right.value);
    const d = await attempt(() => get('/api/v1/admin/config/diff', { ...q, from, to }), errors);
    if (d) render(result, diffView(`v${from}`, byVersion.get(from)?.value, `v${to}`, byVersion.get(to)?.value, d.changes));
  }

  async function rollback(v) {
    const ok = await confirmDialog(`Roll back to v${v.version}?`,
      h('div', {}, h('p', {}, `This writes a new version equal to v${v.version}.`),
        diffView(`current v${cfg.version}`, cfg.value, `v${v.version}`, v.value)), 'Roll back');
    if (!ok) return;
    const r = await attempt(() => post('/api/v1/admin/config/rollback', { ...q, target_version: v.version, expected_version: cfg.version }), errors);
    if (r) { toast(`Rolled back: now v${r.current_version}`); await reloadWhen((c) => c && c.version >= r.current_version); }
  }

  async function tag(v, name, remove) {
    const body = { ...q, version: v.version, tag: name };
    const r = await attempt(() => (remove ? call('DELETE', '/api/v1/admin/config/tag', { body }) : post('/api/v1/admin/config/tag', body)), errors);
    if (!r) return;
    const has = (list) => list.find((x) => x.version === v.version)?.tags.includes(name);
    await settle(async () => has((await get('/api/v1/admin/config/versions', { ...q, page_size: 200 })).list) !== remove);
    loadVersions(box, q, cfg, errors, reloadWhen, write);
  }

  const rows = list.map((v) => {
    const tagInput = h('input', { pattern: '[A-Za-z0-9._\\-]{1,64}', placeholder: 'tag', size: 10, 'aria-label': `New tag for v${v.version}` });
    return h('tr', { 'data-version': v.version },
      h('td', { class: 'num' }, `v${v.version}`, v.is_current ? h('span', { class: 'badge on' }, 'current') : null),
      h('td', {}, fmtTime(v.created_at)), h('td', {}, v.created_by),
      h('td', {}, v.tags.map((t) => h('span', { class: 'tag' }, t,
        h('button', { type: 'button', class: 'link', disabled: !write, 'aria-label': `Remove tag ${t} from v${v.version}`, onclick: () => tag(v, t, true) }, '×'))),
      h('form', { class: 'inline', onsubmit: (ev) => { ev.preventDefault(); if (tagInput.value) tag(v, tagInput.value, false); } },
        tagInput, h('button', { type: 'submit', disabled: !write }, 'Tag'))),
      h('td', {}, h('details', {}, h('summary', {}, 'value'), h('pre', { class: 'json' }, pretty(v.value)))),
      h('td', {}, cfg && !v.is_current && write
        ? h('button', { type: 'button', 'aria-label': `Roll back to v${v.version}`, onclick: () => rollback(v) }, 'Roll back') : null));
  });

  render(box, h('h2', {}, 'Versions'),
    h('div', { class: 'scroll' }, h('table', { class: 'grid', 'aria-label': 'Versions' },
      h('thead', {}, h('tr', {}, ['Version', 'Created', 'By', 'Tags', 'Value', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))),
    list.length >= 2 ? h('form', { class: 'row wrap compare', 'aria-label': 'Compare versions',
      onsubmit: (ev) => { ev.preventDefault(); compare(); } },
    field('From version', left), field('To version', right), h('button', { type: 'submit' }, 'Compare')) : null,
    result);
}

