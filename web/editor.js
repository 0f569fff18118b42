// A JSON editor: a textarea validated as you type, a diff against the current value shown
// before saving, and a save callback that carries the version the edit started from.
import { diffView, jsonChanges } from './diff.js';
import { attempt, confirmDialog, field, h, pretty } from './dom.js';
import { violationText } from './schema.js';

/// opts: {label, current (value or undefined for a new key), version, onSave(value) → Promise,
/// check(value) → Promise<violations[]> (the namespace's schema, docs/schemas.md; optional)}
export function jsonEditor({ label = 'Value (JSON)', current, version, onSave, errors, check }) {
  const area = h('textarea', { class: 'json', rows: 14, spellcheck: 'false', value: current === undefined ? '{\n  \n}' : pretty(current) });
  const status = h('p', { class: 'validity', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary' }, current === undefined ? 'Review and create' : 'Review and save');
  const violations = h('ul', { class: 'violations', 'aria-label': 'Schema violations', hidden: true });
  let parsed;
  let timer = 0;
  let asked = 0;

  // The schema check runs 300 ms after the last keystroke; an answer to an older edit is
  // dropped. A check that fails (no schema endpoint, no permission) marks nothing.
  function checkSchema() {
    clearTimeout(timer);
    violations.hidden = true;
    violations.replaceChildren();
    if (!check || parsed === undefined) return;
    const value = parsed;
    const mine = ++asked;
    timer = setTimeout(async () => {
      let list;
      try { list = await check(value); } catch { return; }
      if (mine !== asked || !list.length) return;
      violations.replaceChildren(...list.map((v) => h('li', { 'data-path': v.path, 'data-rule': v.rule }, violationText(v))));
      violations.hidden = false;
      status.textContent = `✗ ${list.length} schema violation${list.length > 1 ? 's' : ''}`;
      status.className = 'validity bad';
      area.setAttribute('aria-invalid', 'true');
      save.disabled = true;
    }, 300);
  }

  function validate() {
    try {
      parsed = JSON.parse(area.value);
      status.textContent = '✓ valid JSON';
      status.className = 'validity ok';
      area.setAttribute('aria-invalid', 'false');
      save.disabled = false;
    } catch (e) {
      parsed = undefined;
      status.textContent = `✗ ${e.message}`;
      status.className = 'validity bad';
      area.setAttribute('aria-invalid', 'true');
      save.disabled = true;
    }
    checkSchema();
  }
  area.addEventListener('input', validate);
  area.addEventListener('keydown', (ev) => {
    if (ev.key === 'Tab' && !ev.shiftKey && !ev.ctrlKey) {  // indent; Esc then Tab leaves
      if (area.dataset.escape === '1') return;
      ev.preventDefault();
      area.setRangeText('  ', area.selectionStart, area.selectionEnd, 'end');
      validate();
    }
    area.dataset.escape = ev.key === 'Escape' ? '1' : '';
  });
  validate();

  const form = h('form', {
    class: 'editor',
    onsubmit: async (ev) => {
      ev.preventDefault();
      if (parsed === undefined) return;
      const value = parsed;
      const changes = current === undefined ? [{ path: '', type: 'added', from: null, to: value }] : jsonChanges(current, value);
      const title = current === undefined ? 'Create with this value?' : `Save over version ${version}?`;
      const ok = await confirmDialog(title,
        diffView(current === undefined ? '(new)' : `current v${version}`, current, 'your edit', value, changes),
        current === undefined ? 'Create' : 'Save');
      if (ok) await attempt(() => onSave(value), errors);
    },
  }, field(label, area), status, violations,
  h('p', { class: 'muted small' }, 'Tab indents; press Esc then Tab to leave the editor.'), save);
  return form;
}
