// Namespaces: search, status filter, create, edit description, enable/disable, delete.
import { del, get, post, put, settle } from './api.js';
import { can } from './auth.js';
import { attempt, confirmDialog, enc, field, fmtTime, h, render, toast } from './dom.js';
import { pager } from './pager.js';

export async function namespacesView(main) {
  const state = { name: '', status: '', page: 1 };
  const list = h('div', { class: 'list' });
  const errors = h('div', { class: 'inline-errors', role: 'alert' });

  async function load() {
    errors.replaceChildren();
    const data = await attempt(() => get('/api/v1/admin/namespace/list',
      { name: state.name, status: state.status, page: state.page, page_size: 50 }), errors);
    if (!data) return;
    render(list, data.list.length ? table(data.list) : h('p', { class: 'muted' }, 'No namespaces.'),
      pager(data.pagination, (p) => { state.page = p; load(); }));
  }

  function table(rows) {
    return h('table', { class: 'grid', 'aria-label': 'Namespaces' },
      h('thead', {}, h('tr', {}, ['Name', 'Description', 'Status', 'Configs', 'Revision', 'Updated', 'Actions']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((ns) => h('tr', { 'data-ns': ns.name },
        h('td', {}, h('a', { href: `#/ns/${enc(ns.name)}` }, ns.name)),
        h('td', { class: 'desc' }, ns.description),
        h('td', {}, h('span', { class: `badge ${ns.status ? 'on' : 'off'}` }, ns.status ? 'enabled' : 'disabled')),
        h('td', { class: 'num', 'data-label': 'configs' }, ns.config_count),
        h('td', { class: 'num', 'data-label': 'revision' }, ns.revision),
        h('td', { 'data-label': 'updated' }, fmtTime(ns.updated_at)),
        h('td', { class: 'actions' }, actions(ns))))));
  }

  function actions(ns) {
    const admin = can('admin', ns.name);
    return [
      h('button', { type: 'button', disabled: !admin, 'aria-label': `Edit description of ${ns.name}`,
        onclick: () => editDescription(ns) }, 'Edit'),
      h('button', { type: 'button', disabled: !admin, 'aria-label': `${ns.status ? 'Disable' : 'Enable'} ${ns.name}`,
        onclick: () => change(ns, { status: ns.status ? 0 : 1 }) }, ns.status ? 'Disable' : 'Enable'),
      h('button', { type: 'button', class: 'danger', disabled: !admin, 'aria-label': `Delete ${ns.name}`,
        onclick: () => remove(ns) }, 'Delete'),
    ];
  }

  // The namespace as this node sees it (null when absent), to wait for a write to arrive.
  const find = async (name) => (await get('/api/v1/admin/namespace/list', { name, page_size: 1000 }))
    .list.find((n) => n.name === name) ?? null;

  async function change(ns, body) {
    const r = await attempt(() => put(`/api/v1/admin/namespace/${enc(ns.name)}`, body), errors);
    if (r) {
      await settle(async () => { const n = await find(ns.name); return n && n.status === r.status && n.description === r.description; });
      toast(`Namespace ${ns.name} updated`);
      load();
    }
  }

  async function editDescription(ns) {
    const input = h('textarea', { rows: 3, maxlength: 512, value: ns.description });
    if (await confirmDialog(`Description of ${ns.name}`, field('Description', input), 'Save')) {
      change(ns, { description: input.value });
    }
  }

  async function remove(ns) {
    const ok = await confirmDialog(`Delete namespace ${ns.name}?`,
      h('p', {}, 'Only an empty namespace can be deleted. This cannot be undone.'), 'Delete');
    if (ok && await attempt(() => del(`/api/v1/admin/namespace/${enc(ns.name)}`), errors)) {
      await settle(async () => (await find(ns.name)) === null);
      toast(`Namespace ${ns.name} deleted`);
      load();
    }
  }

  const search = h('input', { type: 'search', placeholder: 'part of a name',
    oninput: () => { state.name = search.value; state.page = 1; load(); } });
  const status = h('select', { onchange: () => { state.status = status.value; state.page = 1; load(); } },
    h('option', { value: '' }, 'any'), h('option', { value: '1' }, 'enabled'), h('option', { value: '0' }, 'disabled'));

  const newName = h('input', { required: true, pattern: '[A-Za-z0-9._\\-]{1,128}', autocomplete: 'off' });
  const newDesc = h('input', { maxlength: 512 });
  const create = h('form', {
    class: 'card row wrap', 'aria-label': 'Create namespace',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const made = await attempt(() => post('/api/v1/admin/namespace',
        { name: newName.value, description: newDesc.value }), errors);
      if (made) {
        await settle(async () => (await find(made.name)) !== null);
        toast(`Namespace ${made.name} created`);
        newName.value = '';
        newDesc.value = '';
        load();
      }
    },
  }, field('New namespace', newName), field('Description', newDesc),
  h('button', { type: 'submit', class: 'primary' }, 'Create namespace'));

  render(main, h('h1', {}, 'Namespaces'),
    h('div', { class: 'row wrap' }, field('Search', search), field('Status', status)),
    create, errors, list);
  await load();
}
