// Retention clean-up: preview (dry run) what the policy would remove, then run it.
import { get, post } from './api.js';
import { attempt, field, fmtTime, h, render, toast } from './dom.js';

export async function retentionView(main) {
  const errors = h('div', { class: 'inline-errors', role: 'alert' });
  const result = h('div', { 'aria-live': 'polite' });
  const names = await get('/api/v1/admin/namespace/list', { page_size: 1000 });
  const ns = h('select', {}, h('option', { value: '' }, 'every namespace'),
    names.list.map((n) => h('option', { value: n.name }, `${n.name} (keeps ${n.retention?.keep_latest} / ${n.retention?.keep_days} d)`)));
  const keepLatest = h('input', { type: 'number', min: 0, max: 1000000, placeholder: 'policy' });
  const keepDays = h('input', { type: 'number', min: 0, max: 36500, placeholder: 'policy' });
  const runBtn = h('button', { type: 'button', class: 'danger', disabled: true, onclick: () => run(false) }, 'Clean up now');

  function body(dry) {
    const b = { dry_run: dry };
    if (ns.value) b.namespace = ns.value;
    if (keepLatest.value !== '') b.keep_latest = Number(keepLatest.value);
    if (keepDays.value !== '') b.keep_days = Number(keepDays.value);
    return b;
  }

  async function run(dry) {
    const r = await attempt(() => post('/api/v1/admin/config/cleanup', body(dry)), errors);
    if (!r) return;
    runBtn.disabled = !dry || r.count === 0;
    if (!dry) toast(`Removed ${r.count} versions${r.archive ? `, archived in ${r.archive}` : ''}`);
    render(result, h('h2', {}, dry ? `Preview: ${r.count} versions would be removed` : `Removed ${r.count} versions`),
      r.archive ? h('p', {}, `Archived in ${r.archive}`) : null,
      h('table', { class: 'grid', 'aria-label': 'Versions removed' },
        h('thead', {}, h('tr', {}, ['Namespace', 'Key', 'Version', 'Created'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, r.removed.map((v) => h('tr', {}, h('td', {}, v.namespace), h('td', {}, v.key),
          h('td', { class: 'num' }, v.version), h('td', {}, fmtTime(v.created_at)))))));
  }
  // Any change of the parameters needs a fresh preview before running.
  for (const c of [ns, keepLatest, keepDays]) c.addEventListener('input', () => { runBtn.disabled = true; });

  render(main, h('h1', {}, 'Retention clean-up'),
    h('p', {}, 'Removes versions the retention policy no longer keeps (they are archived first). Preview first; the run uses the same parameters.'),
    h('form', { class: 'card row wrap', onsubmit: (ev) => { ev.preventDefault(); run(true); } },
      field('Namespace', ns), field('Keep latest (override)', keepLatest), field('Keep days (override)', keepDays),
      h('button', { type: 'submit', class: 'primary' }, 'Preview (dry run)'), runBtn),
    errors, result);
}
