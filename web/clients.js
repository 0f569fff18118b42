// The "Clients" tab of a namespace: the cluster's client registry (GET /api/v1/clients) — which
// instances read or watch this namespace, the revision each was sent and the one it acknowledged
// (applied or failed, with the error), its labels and whether it is in a gray release. (The
// console itself appears there under its own id, api.js's consoleClientId.)
import { get, notAvailable } from './api.js';
import { fmtTime, h, render, showError } from './dom.js';

const labelText = (labels) => Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`);

/// The clients panel of namespace `ns`; `current()` answers the namespace's current revision
/// (rows behind it are marked). Returns {element, load}.
export function clientsPanel(ns, { current = () => 0 } = {}) {
  const errors = h('div', { class: 'inline-errors', role: 'alert' });
  const out = h('div', { class: 'clients-out', 'aria-live': 'polite' });
  const label = h('input', { type: 'text', placeholder: 'app=orders,zone=eu-1', spellcheck: 'false',
    pattern: '[A-Za-z0-9._\\/\\-]+=[A-Za-z0-9._\\-]*(,[A-Za-z0-9._\\/\\-]+=[A-Za-z0-9._\\-]*)*' });
  const stale = h('input', { type: 'checkbox' });
  let loading = false;

  async function load() {
    if (loading) return;
    if (label.value && !label.checkValidity()) {
      label.reportValidity();
      return;
    }
    loading = true;
    errors.replaceChildren();
    try {
      const data = await get('/api/v1/clients', { namespace: ns, label: label.value.trim(), stale: stale.checked ? 'true' : '' });
      render(out, view(data));
    } catch (e) {
      if (notAvailable(e)) render(out, h('p', { class: 'muted' }, 'The client registry is not available on this server.'));
      else showError(e, errors);
    } finally {
      loading = false;
    }
  }

  function view(data) {
    const rows = [];
    for (const c of data.clients ?? []) {
      for (const n of (c.namespaces ?? []).filter((x) => x.namespace === ns)) rows.push([c, n]);
    }
    const unreachable = (data.unreachable ?? []).map((u) => h('p', { class: 'error small unreachable-member' },
      `Member ${u.id} (${u.address}) did not answer: ${u.error}. Its clients are not listed.`));
    if (!rows.length) return [unreachable, h('p', { class: 'muted no-clients' }, stale.checked ? 'No client is behind.' : 'No client has read this namespace.')];
    const now = current();
    const byRevision = new Map();
    for (const [, n] of rows) {
      const r = n.acked_revision ?? n.sent_revision ?? 0;
      byRevision.set(r, (byRevision.get(r) ?? 0) + 1);
    }
    return [unreachable,
      h('p', { class: 'muted clients-summary' }, `${rows.length} client${rows.length === 1 ? '' : 's'}: `,
        [...byRevision.entries()].sort((a, b) => b[0] - a[0]).map(([r, count]) =>
          h('span', { class: 'tag' }, `${count} on revision ${r || '?'}`))),
      h('div', { class: 'scroll' }, h('table', { class: 'grid clients', 'aria-label': 'Clients' },
        h('thead', {}, h('tr', {}, ['Client', 'IP', 'Labels', 'Protocol', 'Node', 'Sent', 'Acked', 'Ack', 'Release', 'Last seen']
          .map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows.map(([c, n]) => {
          const behind = now && (n.acked_revision ?? 0) < now && !n.release_id;
          return h('tr', { 'data-client': c.id, class: [n.ack_status === 'failed' ? 'failed' : '', behind ? 'behind' : ''].join(' ').trim() || undefined },
            h('td', {}, h('code', {}, c.id), n.watching ? h('span', { class: 'badge info', title: 'holds a watch' }, 'watching') : null),
            h('td', { 'data-label': 'ip' }, c.ip ?? ''),
            h('td', { 'data-label': 'labels' }, labelText(c.labels).map((t) => h('span', { class: 'tag' }, t))),
            h('td', { 'data-label': 'protocol' }, c.protocol ?? ''),
            h('td', { class: 'num', 'data-label': 'node' }, c.node ?? ''),
            h('td', { class: 'num sent', 'data-label': 'sent' }, n.sent_revision ?? ''),
            h('td', { class: 'num acked', 'data-label': 'acked' }, n.acked_revision ?? '—'),
            h('td', { class: 'ack', 'data-label': 'ack' }, n.ack_status
              ? h('span', { class: `badge ${n.ack_status === 'applied' ? 'on' : 'off'}`, title: n.ack_error ?? '' }, n.ack_status)
              : h('span', { class: 'muted' }, 'none'),
            n.ack_status === 'failed' && n.ack_error ? h('div', { class: 'member-error small' }, n.ack_error) : null),
            h('td', { 'data-label': 'release' }, n.release_id
              ? h('a', { href: `#/releases/${encodeURIComponent(n.release_id)}` }, n.release_id, n.gray ? ' (gray)' : '')
              : h('span', { class: 'muted' }, 'stable')),
            h('td', { 'data-label': 'last seen' }, fmtTime(c.last_seen)));
        })))),
    ];
  }

  const element = h('section', { class: 'clients-panel', 'aria-label': 'Clients of this namespace' },
    h('p', { class: 'muted small' }, 'Instances that read or watch this namespace, on every member, and the revision each one acknowledged.'),
    h('form', { class: 'row wrap', onsubmit: (ev) => { ev.preventDefault(); load(); } },
      h('div', { class: 'field' }, h('label', { for: 'clients-label' }, 'Client labels'), Object.assign(label, { id: 'clients-label' })),
      h('label', { class: 'check' }, stale, ' only clients behind'),
      h('button', { type: 'submit' }, 'Refresh')),
    errors, out);
  stale.addEventListener('change', load);
  return { element, load };
}
