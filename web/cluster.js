// Cluster: leader, term, commit/applied index, every member with its health components (the
// node serving the page asks the others: GET /api/v1/cluster/health), leadership transfer, and
// adding or removing a member (cluster-admin). A node running alone shows its own health.
import { del, get, notAvailable, post, settle } from './api.js';
import { can } from './auth.js';
import { attempt, confirmDialog, field, h, render, toast } from './dom.js';

const statusBadge = (status, id) =>
  h('span', { class: `badge ${status === 'healthy' ? 'on' : status === 'unknown' ? 'warn' : 'off'}`, id }, status ?? 'unknown');

const healthTable = (health) => h('table', { class: 'grid', 'aria-label': 'Health components' },
  h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Component'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Details'))),
  h('tbody', {}, Object.entries(health.components ?? {}).map(([name, c]) => {
    const { status, ...rest } = c;
    return h('tr', {}, h('td', {}, name), h('td', {}, statusBadge(status)),
      h('td', {}, h('code', {}, JSON.stringify(rest))));
  })));

/// A member's components in one cell: a badge each, the details on demand.
function componentsCell(m) {
  if (!m) return h('td', { 'data-label': 'components' }, h('span', { class: 'muted' }, 'not asked'));
  if (!m.health) return h('td', { 'data-label': 'components', class: 'member-error' }, m.error ?? '');
  const components = Object.entries(m.health.components ?? {});
  return h('td', { 'data-label': 'components' },
    components.map(([name, c]) => h('span', { class: `component badge ${c.status === 'healthy' ? 'on' : 'off'}`, 'data-component': name }, `${name} ${c.status}`)),
    h('details', {}, h('summary', {}, 'details'),
      h('dl', { class: 'facts small' }, components.map(([name, c]) => {
        const { status, ...rest } = c;
        return [h('dt', {}, name), h('dd', {}, h('code', {}, JSON.stringify(rest)))];
      }), h('dt', {}, 'uptime'), h('dd', {}, `${m.health.uptime_seconds ?? '?'} s`))));
}

const facts = (pairs) => h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));

export async function clusterView(main) {
  const errors = h('div', { class: 'inline-errors', role: 'alert' });
  const admin = can('cluster-admin');

  // This node's /api/v1/health: 503 with a body when unhealthy, shown rather than failed.
  const ownHealth = () => fetch('/api/v1/health').then((r) => r.json()).then((e) => e.data ?? {}).catch(() => ({}));

  async function load() {
    let st = null;
    try {
      st = await get('/api/v1/cluster');
    } catch (e) {
      if (!notAvailable(e)) throw e;
    }
    if (!st) {
      const health = await ownHealth();
      render(main, h('h1', {}, 'Cluster'), errors, h('p', {}, 'This node runs alone (no Raft cluster).'),
        h('section', { class: 'card', 'aria-label': 'This node' }, h('h2', {}, 'This node'),
          h('p', {}, 'status ', statusBadge(health.status, 'node-status'),
            health.degraded ? ' · degraded' : '', ` · up ${health.uptime_seconds ?? '?'} s`),
          healthTable(health)));
      return;
    }
    // Every member's health through this node; an unreachable member is an entry, not an error.
    let ch = null;
    await attempt(async () => {
      try {
        ch = await get('/api/v1/cluster/health');
      } catch (e) {
        if (!notAvailable(e)) throw e;  // an older node without it: its members only
      }
    }, errors);
    const healthOf = new Map((ch?.members ?? []).map((m) => [m.id, m]));

    const target = h('select', {}, st.members.filter((m) => m.voter && m.id !== st.leader)
      .map((m) => h('option', { value: String(m.id) }, `node ${m.id} (${m.http})`)));
    const transfer = h('form', { class: 'row wrap', 'aria-label': 'Transfer leadership',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const r = await attempt(() => post('/api/v1/admin/cluster/transfer-leader', { to: Number(target.value) }), errors);
        if (r) { toast(`Leadership transfer to node ${r.to} started`); setTimeout(refresh, 1000); }
      } }, field('New leader', target),
    h('button', { type: 'submit', disabled: !admin }, 'Transfer leadership'));

    const rows = st.members.map((m) => {
      const mh = healthOf.get(m.id);
      const unreachable = mh && !mh.reachable;
      const role = m.id === st.leader ? h('span', { class: 'badge on' }, 'leader') : m.voter ? 'follower' : 'learner';
      return h('tr', { 'data-member': m.id, class: unreachable ? 'unreachable' : null },
        h('td', { class: 'num' }, m.id, m.id === st.raft_id ? h('span', { class: 'muted small' }, ' (this node)') : null),
        h('td', { 'data-label': 'role' }, role),
        h('td', { 'data-label': 'health' }, statusBadge(mh ? mh.status : 'unknown')),
        componentsCell(mh),
        h('td', { 'data-label': 'http' }, m.http), h('td', { 'data-label': 'peer' }, m.peer),
        h('td', { class: 'actions' },
          m.http ? h('a', { href: `http://${m.http}/ui/#/cluster`, 'aria-label': `Open node ${m.id}'s console` }, 'console') : null, ' ',
          h('button', { type: 'button', class: 'danger', disabled: !admin, 'aria-label': `Remove node ${m.id}`,
            onclick: () => remove(m) }, 'Remove')));
    });

    render(main, h('h1', {}, 'Cluster'), errors,
      h('button', { type: 'button', onclick: () => refresh() }, 'Refresh'),
      facts([['Leader', st.leader ? `node ${st.leader} ${st.leader_http}` : 'none (election)'], ['Term', st.term],
        ['Commit index', st.commit], ['Applied index', st.applied], ['Last log index', st.last_index],
        ['This node', `node ${st.raft_id} · ${st.role}${st.degraded ? ' · degraded' : ''}`],
        ['Health', ch ? `${ch.healthy} of ${ch.total} members healthy, ${ch.total - ch.reachable} unreachable` : 'not available']]),
      h('section', { class: 'card', 'aria-label': 'Members' }, h('h2', {}, 'Members'),
        h('div', { class: 'scroll' }, h('table', { class: 'grid', id: 'members', 'aria-label': 'Members' },
          h('thead', {}, h('tr', {}, ['Id', 'Role', 'Health', 'Components', 'HTTP', 'Peer', ''].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, rows))),
        ch ? h('p', { class: 'muted small' }, `Asked through node ${ch.raft_id}; a member that does not answer within ${ch.timeout_ms} ms is shown unreachable.`) : null),
      admin ? transfer : null,
      addForm());
  }

  function addForm() {
    const id = h('input', { type: 'number', min: 1, step: 1, required: true, inputmode: 'numeric' });
    const peer = h('input', { required: true, placeholder: 'host:port', pattern: '\\S+:\\d+', autocomplete: 'off' });
    const http = h('input', { required: true, placeholder: 'host:port', pattern: '\\S+:\\d+', autocomplete: 'off' });
    const learner = h('input', { type: 'checkbox' });
    const form = h('form', { class: 'card', 'aria-label': 'Add a member',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = { id: Number(id.value), peer: peer.value.trim(), http: http.value.trim(), voter: !learner.checked };
        const r = await attempt(() => post('/api/v1/admin/cluster/members', body), errors);
        if (!r) return;
        toast(r.promote ? `Node ${r.id} added as a learner; it becomes a voter once caught up` : `Node ${r.id} added as a learner for good`);
        await settle(async () => (await get('/api/v1/cluster')).members.some((m) => m.id === r.id));
        await refresh();
      } },
    h('h2', {}, 'Add a member'),
    h('p', { class: 'muted small' }, 'Start the new node first with join enabled (docs/cluster.md). It joins as a learner and becomes a voter once it has caught up, unless it is to stay a learner: then it serves reads and watches but never votes (docs/scaling.md). One change at a time.'),
    h('div', { class: 'row wrap' }, field('Member id', id), field('Peer address', peer), field('HTTP address', http),
      field('Stay a learner (never votes)', learner),
      h('button', { type: 'submit', class: 'primary', disabled: !admin }, 'Add member')));
    for (const input of [id, peer, http, learner]) input.disabled = !admin;
    return form;
  }

  async function remove(m) {
    const ok = await confirmDialog(`Remove node ${m.id}?`,
      h('div', {}, h('p', {}, `Node ${m.id} (${m.http || 'no HTTP address'}) leaves the cluster's configuration; stop its process afterwards.`),
        h('p', {}, m.voter ? 'It is a voter: the cluster needs a majority of the remaining voters to go on writing.' : 'It is a learner (does not vote).')),
      'Remove');
    if (!ok) return;
    const r = await attempt(() => del(`/api/v1/admin/cluster/members/${m.id}`), errors);
    if (!r) return;
    toast(`Node ${r.id} removed`);
    await settle(async () => !(await get('/api/v1/cluster')).members.some((x) => x.id === r.id));
    await refresh();
  }

  // Errors of a refresh land in the page's alert area; the page stays.
  const refresh = () => load().catch((e) => attempt(() => { throw e; }, errors));

  await load();
}
