// A very small view layer: h() builds elements, render() replaces a container's children.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') continue;  // set after the children (a <select>'s options)
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  if (props && 'value' in props && props.value !== undefined) el.value = props.value;
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

export function render(container, ...children) {
  container.replaceChildren();
  append(container, children);
}

let fieldSeq = 0;
/// A labelled control: <label for=id>text</label><control id=id>.
export function field(text, control) {
  if (!control.id) control.id = `f${++fieldSeq}`;
  return h('div', { class: 'field' }, h('label', { for: control.id }, text), control);
}

/// Shows an API error (message and code) in the page's alert area, or in `where`.
export function showError(e, where = document.getElementById('errors')) {
  const code = e?.code ? ` (code ${e.code}${e.status ? `, HTTP ${e.status}` : ''})` : '';
  const box = h('div', { class: 'error' },
    h('strong', {}, 'Error'), ' ', `${e?.message ?? e}${code}`,
    h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss error',
      onclick: () => box.remove() }, '×'));
  where.append(box);
  return box;
}

export function clearErrors() {
  document.getElementById('errors').replaceChildren();
}

export function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('on');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('on'), 3000);
}

export const fmtTime = (s) => (s ? s.replace('T', ' ').replace('Z', ' UTC') : '');
export const pretty = (v) => JSON.stringify(v, null, 2);
export const enc = encodeURIComponent;

/// Runs `fn`; errors are shown instead of thrown. Returns fn's result or undefined.
export async function attempt(fn, where) {
  try {
    return await fn();
  } catch (e) {
    showError(e, where);
    return undefined;
  }
}

/// Resolves true when the user confirms in a modal dialog showing `body`.
export function confirmDialog(title, body, okText = 'Confirm') {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-label': title },
      h('h2', {}, title), body,
      h('form', { method: 'dialog', class: 'row' },
        h('button', { value: 'cancel', type: 'submit' }, 'Cancel'),
        h('button', { value: 'ok', type: 'submit', class: 'primary' }, okText)));
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}
