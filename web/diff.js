// Diffs for the console: per-path changes between two JSON values (the same shape the API's
// /config/diff answers) and a side-by-side line view of their pretty-printed text.
import { h, pretty } from './dom.js';

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const ident = /^[A-Za-z_][A-Za-z0-9_]*$/;
const join = (base, k) =>
  typeof k === 'number' ? `${base}[${k}]`
    : ident.test(k) ? (base ? `${base}.${k}` : k) : `${base}[${JSON.stringify(k)}]`;

/// [{path, type: added|removed|modified, from, to}] from `a` to `b`.
export function jsonChanges(a, b, path = '', out = []) {
  if (isObj(a) && isObj(b)) {
    for (const k of Object.keys(a)) {
      if (!(k in b)) out.push({ path: join(path, k), type: 'removed', from: a[k], to: null });
      else jsonChanges(a[k], b[k], join(path, k), out);
    }
    for (const k of Object.keys(b)) {
      if (!(k in a)) out.push({ path: join(path, k), type: 'added', from: null, to: b[k] });
    }
  } else if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (i >= b.length) out.push({ path: join(path, i), type: 'removed', from: a[i], to: null });
      else if (i >= a.length) out.push({ path: join(path, i), type: 'added', from: null, to: b[i] });
      else jsonChanges(a[i], b[i], join(path, i), out);
    }
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push({ path, type: 'modified', from: a, to: b });
  }
  return out;
}

/// Line alignment of two texts by longest common subsequence: [{left, right, kind}].
export function lineDiff(leftText, rightText) {
  const a = leftText.split('\n');
  const b = rightText.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const rows = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) rows.push({ left: a[i++], right: b[j++], kind: 'same' });
    else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      rows.push({ left: '', right: b[j++], kind: 'add' });
    } else rows.push({ left: a[i++], right: '', kind: 'del' });
  }
  return pairUp(rows);
}

// Puts the removed and added lines of one change block side by side, as 'mod' rows.
function pairUp(rows) {
  const out = [];
  for (let k = 0; k < rows.length;) {
    if (rows[k].kind === 'same') { out.push(rows[k++]); continue; }
    const dels = [];
    const adds = [];
    for (; k < rows.length && rows[k].kind !== 'same'; k++) (rows[k].kind === 'del' ? dels : adds).push(rows[k]);
    for (let x = 0; x < Math.max(dels.length, adds.length); x++) {
      const d = dels[x];
      const ad = adds[x];
      out.push({ left: d?.left ?? '', right: ad?.right ?? '', kind: d && ad ? 'mod' : d ? 'del' : 'add' });
    }
  }
  return out;
}

const show = (v) => (v === undefined ? '' : JSON.stringify(v));

/// The list of changes as a table.
export function changesTable(changes) {
  if (!changes.length) return h('p', { class: 'muted' }, 'No changes.');
  return h('table', { class: 'changes' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Path'), h('th', {}, 'Change'), h('th', {}, 'From'),
      h('th', {}, 'To'))),
    h('tbody', {}, changes.map((c) => h('tr', { class: c.type },
      h('td', {}, h('code', {}, c.path || '(whole value)')), h('td', {}, c.type),
      h('td', {}, h('code', {}, show(c.from))), h('td', {}, h('code', {}, show(c.to)))))));
}

/// Side-by-side view of two JSON values with titles; changed lines are marked.
export function sideBySide(leftTitle, left, rightTitle, right) {
  const rows = lineDiff(left === undefined ? '' : pretty(left), right === undefined ? '' : pretty(right));
  return h('div', { class: 'sbs', role: 'table', 'aria-label': `${leftTitle} compared with ${rightTitle}` },
    h('div', { class: 'sbs-head', role: 'row' },
      h('div', { role: 'columnheader' }, leftTitle), h('div', { role: 'columnheader' }, rightTitle)),
    rows.map((r) => h('div', { class: `sbs-row ${r.kind}`, role: 'row' },
      h('pre', { role: 'cell' }, r.left), h('pre', { role: 'cell' }, r.right))));
}

/// Summary table plus side-by-side text: what a confirmation dialog shows.
export function diffView(leftTitle, left, rightTitle, right, changes = jsonChanges(left, right)) {
  return h('div', { class: 'diff' }, changesTable(changes), sideBySide(leftTitle, left, rightTitle, right));
}
