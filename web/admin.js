// Tokens and audit log (cluster-admin). Either page says "not available on this server" when
// its endpoint answers 404 (auth not enabled, or a server without them).
import { del, get, notAvailable, post } from './api.js';
import { attempt, confirmDialog, field, fmtTime, h, render, toast } from './dom.js';
import { pager } from './pager.js';

const unavailable = (main, title) => render(main, h('h1', {}, title),
  h('p', { class: 'card', id: 'not-available' }, 'Not available on this server.'));

const cell = (v) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v)
  : typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? fmtTime(v) : String(v));

function table(label, rows, extra) {
  if (!rows.length) return h('p', { class: 'muted' }, 'Nothing yet.');
  const cols = Object.keys(rows[0]);
  return h('div', { class: 'scroll' }, h('table', { class: 'grid', 'aria-label': label },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)), extra ? h('th', { scope: 'col' }, '') : null)),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', {}, cell(r[c]))), extra ? h('td', {}, extra(r)) : null)))));
}

export async function tokensView(main) {
  let data;
  try {
    data = await get('/api/v1/admin/tokens');
  } catch (e) {
    if (notAvailable(e)) return unavailable(main, 'Tokens');
    throw e;
  }
  const errors = h('div', { class: 'inline-errors', role: 'alert' });
  const secret = h('div', { 'aria-live': 'polite' });
  const name = h('input', { required: true, pattern: '[A-Za-z0-9._@\\-]{1,64}' });
  const grants = h('input', { placeholder: 'user-*:write, billing:read  or  cluster-admin' });
  const ttl = h('input', { placeholder: 'e.g. 720h (empty: never expires)' });
  const parseGrants = (text) => text.split(',').map((s) => s.trim()).filter(Boolean).map((g) => {
    if (g === 'cluster-admin') return { permission: 'cluster-admin' };
    const [namespace, permission] = g.split(':');
    return { namespace, permission };
  });
  const revoke = async (t) => {
    if (await confirmDialog(`Revoke token ${t.name}?`, h('p', {}, 'Requests with it are refused at once.'), 'Revoke')
      && await attempt(() => del(`/api/v1/admin/tokens/${t.id}`), errors)) tokensView(main);
  };
  render(main, h('h1', {}, 'Tokens'), errors,
    h('form', { class: 'card row wrap', 'aria-label': 'Create token', onsubmit: async (ev) => {
      ev.preventDefault();
      const body = { name: name.value, grants: parseGrants(grants.value) };
      if (ttl.value) body.ttl = ttl.value;
      const r = await attempt(() => post('/api/v1/admin/tokens', body), errors);
      if (r) {
        toast(`Token ${name.value} created`);
        render(secret, h('p', { class: 'card' }, 'Copy the secret now; it is never shown again: ', h('code', {}, r.token)));
      }
    } }, field('Name', name), field('Grants', grants), field('TTL', ttl), h('button', { type: 'submit', class: 'primary' }, 'Create token')),
    secret, table('Tokens', data.list ?? [], (t) => (t.status === 'active'
      ? h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${t.name}`, onclick: () => revoke(t) }, 'Revoke') : null)));
}

export async function auditView(main, page = 1, filter = {}) {
  let data;
  try {
    data = await get('/api/v1/admin/audit', { ...filter, page, page_size: 50 });
  } catch (e) {
    if (notAvailable(e)) return unavailable(main, 'Audit log');
    throw e;
  }
  const inputs = { actor: h('input', { value: filter.actor ?? '' }), namespace: h('input', { value: filter.namespace ?? '' }),
    action: h('input', { value: filter.action ?? '', placeholder: 'config.*' }) };
  render(main, h('h1', {}, 'Audit log'),
    h('form', { class: 'row wrap', 'aria-label': 'Filter audit log', onsubmit: (ev) => {
      ev.preventDefault();
      auditView(main, 1, Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value])));
    } }, field('Actor', inputs.actor), field('Namespace', inputs.namespace), field('Action', inputs.action),
    h('button', { type: 'submit' }, 'Filter')),
    table('Audit log', data.list ?? []), pager(data.pagination, (p) => auditView(main, p, filter)));
}
