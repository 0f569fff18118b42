// Batch write of one namespace: paste a JSON object of key → value, see what would be created,
// updated or left alone, then write it as one atomic batch (POST /api/v1/admin/config/batch).
// Updates carry the version seen in the preview, so a key changed meanwhile fails the whole
// batch (40901) instead of being overwritten.
import { post } from './api.js';
import { changesTable, jsonChanges } from './diff.js';
import { field, h, render, showError, toast } from './dom.js';

const KEY = /^[A-Za-z0-9._:/-]{1,256}$/;
const MAX_OPERATIONS = 1000;

/// Why `text` is not a batch, or null; `entries` gets its [key, value] pairs.
function check(text, entries) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return e.message;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'must be a JSON object of key → value';
  const pairs = Object.entries(doc);
  if (!pairs.length) return 'holds no key';
  if (pairs.length > MAX_OPERATIONS) return `holds ${pairs.length} keys; a batch takes at most ${MAX_OPERATIONS}`;
  const bad = pairs.find(([k]) => !KEY.test(k));
  if (bad) return `key ${JSON.stringify(bad[0])} is not 1–256 characters of A–Z a–z 0–9 . _ : / -`;
  entries.push(...pairs);
  return null;
}

/// opts: {ns, onWritten(result) → Promise} (called after a successful batch).
export function batchEditor({ ns, onWritten }) {
  const errors = h('div', { class: 'inline-errors', role: 'alert' });
  const area = h('textarea', { class: 'json', rows: 8, spellcheck: 'false', placeholder: '{"feature.a": true, "limits": {"rps": 100}}' });
  const status = h('p', { class: 'validity', 'aria-live': 'polite' });
  const previewButton = h('button', { type: 'submit' }, 'Preview changes');
  const preview = h('div', { class: 'batch-preview', 'aria-live': 'polite' });
  const result = h('div', { class: 'batch-result', 'aria-live': 'polite' });
  let entries = [];

  function validate() {
    entries = [];
    render(preview);  // an edit makes the preview stale
    if (!area.value.trim()) {
      status.textContent = 'Paste or type a JSON object.';
      status.className = 'validity';
      area.removeAttribute('aria-invalid');
      previewButton.disabled = true;
      return;
    }
    const why = check(area.value, entries);
    status.textContent = why ? `✗ ${why}` : `✓ ${entries.length} key${entries.length === 1 ? '' : 's'}`;
    status.className = `validity ${why ? 'bad' : 'ok'}`;
    area.setAttribute('aria-invalid', why ? 'true' : 'false');
    previewButton.disabled = !!why;
  }
  area.addEventListener('input', validate);

  async function showPreview() {
    render(result);
    const keys = entries.map(([k]) => k);
    let found;
    try {
      found = await post('/api/v1/config/batch-get', { namespace: ns, keys });
    } catch (e) {
      showError(e, errors);
      return;
    }
    const current = new Map(found.configs.map((c) => [c.key, c]));
    const plan = entries.map(([key, value]) => {
      const c = current.get(key);
      if (!c) return { key, value, change: 'create' };
      const changes = jsonChanges(c.value, value);
      return { key, value, current: c, changes, change: changes.length ? 'update' : 'unchanged' };
    });
    const ops = plan.filter((p) => p.change !== 'unchanged');
    const count = (what) => plan.filter((p) => p.change === what).length;
    const write = h('button', { type: 'button', class: 'primary', disabled: !ops.length,
      onclick: () => submit(ops, write) }, `Write ${ops.length} change${ops.length === 1 ? '' : 's'}`);
    render(preview,
      h('h3', {}, `Preview: ${count('create')} to create, ${count('update')} to update, ${count('unchanged')} unchanged`),
      h('div', { class: 'scroll' }, h('table', { class: 'grid', 'aria-label': 'Batch preview' },
        h('thead', {}, h('tr', {}, ['Key', 'Change', 'Current version', 'What changes'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, plan.map((p) => h('tr', { 'data-key': p.key, 'data-change': p.change, 'data-op': p.change === 'unchanged' ? null : ops.indexOf(p) },
          h('td', {}, h('code', {}, p.key)),
          h('td', { 'data-label': 'change' }, h('span', { class: `badge ${p.change === 'create' ? 'on' : p.change === 'update' ? 'info' : ''}` }, p.change)),
          h('td', { class: 'num', 'data-label': 'current' }, p.current ? `v${p.current.version}` : '—'),
          h('td', {}, p.change === 'update' ? h('details', {}, h('summary', {}, `${p.changes.length} path${p.changes.length === 1 ? '' : 's'}`), changesTable(p.changes))
            : p.change === 'create' ? h('code', {}, JSON.stringify(p.value)) : null)))))),
      h('p', { class: 'muted small' }, 'One atomic write: every change or none. A key changed by someone after this preview fails the batch (40901); a disabled key counts as new here, and its create fails the batch (40902).'),
      write);
    write.focus();
  }

  async function submit(ops, button) {
    button.disabled = true;
    const operations = ops.map((p) => (p.change === 'create'
      ? { op: 'create', key: p.key, value: p.value }
      : { op: 'update', key: p.key, value: p.value, expected_version: p.current.version }));
    let r;
    try {
      r = await post('/api/v1/admin/config/batch', { namespace: ns, operations });
    } catch (e) {
      // error.field names the failing operation: operations[i]; nothing was written.
      const i = /^operations\[(\d+)\]/.exec(e.field ?? '')?.[1];
      for (const row of preview.querySelectorAll('tr.failed')) row.classList.remove('failed');
      const row = i === undefined ? null : preview.querySelector(`tr[data-op="${i}"]`);
      row?.classList.add('failed');
      showError(e, errors).append(h('p', {}, row ? `Key ${ops[Number(i)].key} failed; nothing was written. ` : 'Nothing was written. ',
        'Edit the batch or preview again.'));
      button.disabled = false;
      return;
    }
    render(preview);
    render(result,
      h('h3', {}, `Written at revision ${r.revision}`),
      h('table', { class: 'grid', 'aria-label': 'Batch results' },
        h('thead', {}, h('tr', {}, ['Key', 'Operation', 'Version'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, r.results.map((x) => h('tr', { 'data-key': x.key },
          h('td', {}, h('code', {}, x.key)), h('td', {}, x.op),
          h('td', { class: 'num' }, x.old_version ? `v${x.old_version} → v${x.version}` : `v${x.version}`))))));
    toast(`Batch written: ${r.results.length} change${r.results.length === 1 ? '' : 's'}`);
    await onWritten?.(r);
  }

  validate();
  const form = h('form', { class: 'batch', 'aria-label': 'Batch write',
    onsubmit: (ev) => { ev.preventDefault(); if (!previewButton.disabled) showPreview(); } },
  h('p', { class: 'muted small' }, 'A JSON object of key → value: new keys are created, existing ones updated, identical ones left alone.'),
  field('Configs (JSON object of key → value)', area), status, previewButton);
  return h('details', { class: 'card', id: 'batch' }, h('summary', {}, 'Batch write'), errors, form, preview, result);
}
