// Import and export of a namespace (docs/import-export.md): export it as JSON, YAML or a zip
// (secrets sealed unless "reveal" is ticked and the token holds the grant); import a file —
// Cairn's export or Consul, Nacos, Apollo, etcd's — after a dry run that shows what each key
// would become (create / update / unchanged / conflict / invalid) under the chosen conflict
// policy. The server reads every format; this page only sends the file.
import { ApiError, headers } from './api.js';
import { attempt, field, h, render, toast } from './dom.js';

async function envelope(res) {
  let env = null;
  try {
    env = await res.json();
  } catch {
    env = { message: `HTTP ${res.status} ${res.statusText}` };
  }
  if (!res.ok || env.code !== 0) throw new ApiError(res.status, env);
  return env.data ?? {};
}

function planTable(data) {
  const s = data.summary ?? {};
  const rows = (data.items ?? []).map((i) => h('tr', { 'data-key': `${i.namespace}/${i.key}`, class: `action-${i.action}` },
    h('td', {}, h('span', { class: `badge ${i.action === 'conflict' || i.action === 'invalid' ? 'warn' : 'on'}` }, i.action)),
    h('td', {}, i.namespace), h('td', {}, i.key), h('td', { class: 'num' }, i.current_version ?? ''),
    h('td', {}, [i.reason ?? '', ...(i.violations ?? []).map((v) => `; ${v.message}`)].join(''))));
  return h('div', { class: 'import-plan' },
    h('p', { class: 'summary', role: 'status' },
      `${s.total ?? 0} key(s): ${s.create ?? 0} create, ${s.update ?? 0} update, ${s.unchanged ?? 0} unchanged, `
      + `${s.conflict ?? 0} conflict, ${s.invalid ?? 0} invalid`),
    (data.warnings ?? []).map((w) => h('p', { class: 'muted' }, `warning: ${w}`)),
    rows.length ? h('table', { class: 'grid', 'aria-label': 'Import plan' },
      h('thead', {}, h('tr', {}, ['Action', 'Namespace', 'Key', 'Current', 'Note'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)) : null);
}

/// The "Import / export" card of namespace `ns`. `onImported(data)` runs after a written import.
export function transferBox(ns, { onImported } = {}) {
  const errors = h('div', { class: 'inline-errors', role: 'alert' });

  const format = h('select', { value: 'json' }, ['json', 'yaml', 'zip'].map((f) => h('option', { value: f }, f)));
  const reveal = h('input', { type: 'checkbox' });
  const exportButton = h('button', { type: 'button', onclick: async () => {
    const url = new URL('/api/v1/admin/export', location.origin);
    url.searchParams.set('namespace', ns);
    url.searchParams.set('format', format.value);
    if (reveal.checked) url.searchParams.set('reveal', 'true');
    const blob = await attempt(async () => {
      const res = await fetch(url, { headers: headers() });
      if (!res.ok) await envelope(res);  // throws the API's error
      return res.blob();
    }, errors);
    if (!blob) return;
    const a = h('a', { href: URL.createObjectURL(blob), download: `cairn-export-${ns}.${format.value}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    toast(`Exported ${ns}`);
  } }, 'Export');

  const file = h('input', { type: 'file', 'aria-label': 'File to import' });
  const source = h('select', { value: 'cairn' },
    [['cairn', 'Cairn export'], ['consul', 'Consul (consul kv export)'], ['nacos', 'Nacos (export zip)'],
      ['apollo', 'Apollo (namespace file)'], ['etcd', 'etcd (etcdctl get -w json)']]
      .map(([v, t]) => h('option', { value: v }, t)));
  const policy = h('select', { value: 'abort' },
    [['abort', 'abort: write nothing if a key differs'], ['skip', 'skip keys that differ'],
      ['overwrite', 'overwrite keys that differ']].map(([v, t]) => h('option', { value: v }, t)));
  const tenant = h('input', { placeholder: 'Nacos namespace (tenant)', autocomplete: 'off' });
  const plan = h('div', { class: 'plan' });
  let previewed = null;

  async function send(dryRun) {
    const f = file.files?.[0];
    if (!f) {
      render(errors, h('div', { class: 'error' }, 'Choose a file first.'));
      return null;
    }
    const url = new URL('/api/v1/admin/import', location.origin);
    url.searchParams.set('source', source.value);
    url.searchParams.set('on_conflict', policy.value);
    url.searchParams.set('filename', f.name);
    if (source.value === 'nacos' && tenant.value) url.searchParams.set('tenant', tenant.value);
    if (dryRun) url.searchParams.set('dry_run', 'true');
    return attempt(async () => envelope(await fetch(url, {
      method: 'POST', headers: headers({ 'Content-Type': 'application/octet-stream' }), body: f,
    })), errors);
  }

  const importButton = h('button', { type: 'button', disabled: true, onclick: async () => {
    importButton.disabled = true;
    const data = await send(false);
    if (!data) return;
    render(plan, planTable(data));
    toast(`Imported ${data.summary.create + data.summary.update} key(s)`);
    onImported?.(data);
  } }, 'Import');

  const previewButton = h('button', { type: 'button', onclick: async () => {
    errors.replaceChildren();
    importButton.disabled = true;
    previewed = await send(true);
    if (!previewed) return;
    render(plan, planTable(previewed));
    const s = previewed.summary;
    importButton.disabled = s.invalid > 0 || (policy.value === 'abort' && s.conflict > 0)
      || s.create + s.update === 0;
  } }, 'Preview (dry run)');
  // A new choice needs a new preview.
  for (const el of [file, source, policy, tenant]) {
    el.addEventListener('change', () => { importButton.disabled = true; plan.replaceChildren(); });
  }

  return h('details', { class: 'card transfer' }, h('summary', {}, 'Import / export'),
    h('section', { 'aria-label': 'Export' }, h('h3', {}, 'Export'),
      h('div', { class: 'row wrap' }, field('Format', format),
        h('label', {}, reveal, ' reveal secrets (needs the reveal grant; audited)'), exportButton)),
    h('section', { 'aria-label': 'Import' }, h('h3', {}, 'Import'),
      h('div', { class: 'row wrap' }, field('File', file), field('Source', source), field('Nacos tenant', tenant),
        field('On conflict', policy)),
      h('div', { class: 'row' }, previewButton, importButton), errors, plan));
}
