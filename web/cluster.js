// Cluster: members, leader, term, commit/applied index, this node's health components, and
// leadership transfer. Other nodes' health is one click away on their own console (the page
// talks only to its own node).
import { get, notAvailable, post } from './api.js';
import { can } from './auth.js';
import { attempt, field, h, render, toast } from './dom.js';

const healthTable = (health) => h('table', { class: 'grid', 'aria-label': 'Health components' },
  h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Component'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Details'))),
  h('tbody', {}, Object.entries(health.components ?? {}).map(([name, c]) => {
    const { status, ...rest } = c;
    return h('tr', {}, h('td', {}, name),
      h('td', {}, h('span', { class: `badge ${status === 'healthy' ? 'on' : 'off'}` }, status)),
      h('td', {}, h('code', {}, JSON.stringify(rest))));
  })));

export async function clusterView(main) {
  const errors = h('div', { class: 'inline-errors', role: 'alert' });
  async function load() {
    // /health answers 503 with a body when unhealthy: show it rather than fail.
    const health = await fetch('/api/v1/health').then((r) => r.json()).then((e) => e.data ?? {}).catch(() => ({}));
    let st = null;
    try {
      st = await get('/api/v1/cluster');
    } catch (e) {
      if (!notAvailable(e)) throw e;
    }
    const summary = h('section', { class: 'card', 'aria-label': 'This node' },
      h('h2', {}, 'This node'),
      h('p', {}, `status `, h('span', { class: `badge ${health.status === 'healthy' ? 'on' : 'off'}`, id: 'node-status' }, health.status ?? 'unknown'),
        health.degraded ? ' · degraded' : '', ` · up ${health.uptime_seconds ?? '?'} s`),
      healthTable(health));
    if (!st) {
      render(main, h('h1', {}, 'Cluster'), errors, h('p', {}, 'This node runs alone (no Raft cluster).'), summary);
      return;
    }
    const target = h('select', {}, st.members.filter((m) => m.voter && m.id !== st.leader)
      .map((m) => h('option', { value: String(m.id) }, `node ${m.id} (${m.http})`)));
    const transfer = h('form', { class: 'row wrap', 'aria-label': 'Transfer leadership',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const r = await attempt(() => post('/api/v1/admin/cluster/transfer-leader', { to: Number(target.value) }), errors);
        if (r) { toast(`Leadership transfer to node ${r.to} started`); setTimeout(load, 1000); }
      } }, field('New leader', target),
    h('button', { type: 'submit', disabled: !can('cluster-admin') }, 'Transfer leadership'));

    render(main, h('h1', {}, 'Cluster'), errors,
      h('button', { type: 'button', onclick: () => load().catch((e) => attempt(() => { throw e; }, errors)) }, 'Refresh'),
      facts([['Leader', st.leader ? `node ${st.leader} ${st.leader_http}` : 'none (election)'], ['Term', st.term],
        ['Commit index', st.commit], ['Applied index', st.applied], ['Last log index', st.last_index],
        ['This node', `node ${st.raft_id} · ${st.role}${st.degraded ? ' · degraded' : ''}`]]),
      h('section', { class: 'card', 'aria-label': 'Members' }, h('h2', {}, 'Members'),
        h('table', { class: 'grid', id: 'members', 'aria-label': 'Members' },
          h('thead', {}, h('tr', {}, ['Id', 'Role', 'HTTP', 'Peer', 'Console'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, st.members.map((m) => h('tr', { 'data-member': m.id },
            h('td', {}, m.id), h('td', {}, m.id === st.leader ? h('span', { class: 'badge on' }, 'leader') : m.voter ? 'follower' : 'learner'),
            h('td', {}, m.http), h('td', {}, m.peer),
            h('td', {}, m.http ? h('a', { href: `http://${m.http}/ui/#/cluster` }, 'open') : '')))))),
      can('cluster-admin') ? transfer : null, summary);
  }

  function facts(pairs) {
    return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
  }

  await load();
}
