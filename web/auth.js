// Who is signed in. Auth is "off" when the server has no /auth/whoami (404/40401): no sign-in,
// everything allowed. Otherwise the token typed by the user is kept in sessionStorage and sent
// as a Bearer token; the grants decide which buttons are enabled.
import { ApiError, get, notAvailable, token } from './api.js';
import { field, h, render } from './dom.js';

export const session = { mode: 'unknown', name: '', grants: [], clusterAdmin: false };

const rank = { read: 1, write: 2, admin: 3 };
const matches = (pattern, ns) =>
  pattern === '*' || pattern === ns || (pattern.endsWith('*') && ns.startsWith(pattern.slice(0, -1)));

/// True when the signed-in token may do `permission` (read|write|admin|cluster-admin) on `ns`.
export function can(permission, ns = '') {
  if (session.mode === 'off' || session.clusterAdmin) return true;
  if (permission === 'cluster-admin') return false;
  return session.grants.some((g) => (rank[g.permission] ?? 0) >= rank[permission] &&
    (ns ? matches(g.namespace ?? '', ns) : true));
}

/// Asks the server who we are; sets session.mode to off | in | out.
export async function refresh() {
  try {
    const me = await get('/api/v1/auth/whoami');
    Object.assign(session, { mode: 'in', name: me.name, grants: me.grants ?? [],
      clusterAdmin: !!me.cluster_admin });
  } catch (e) {
    if (notAvailable(e)) Object.assign(session, { mode: 'off', name: '', grants: [], clusterAdmin: false });
    else if (e instanceof ApiError && e.status === 401) {
      Object.assign(session, { mode: 'out', name: '', grants: [], clusterAdmin: false });
    } else throw e;
  }
  renderWho();
  return session.mode;
}

export function renderWho() {
  const who = document.getElementById('who');
  if (session.mode === 'off') render(who, h('span', { class: 'muted' }, 'auth off'));
  else if (session.mode === 'in') {
    render(who, h('span', {}, `signed in as ${session.name}`), ' ',
      h('button', { type: 'button', class: 'link', onclick: signOut }, 'Sign out'));
  } else render(who, h('span', { class: 'muted' }, 'not signed in'));
  document.body.classList.toggle('not-cluster-admin', !can('cluster-admin'));
}

function signOut() {
  token.set('');
  location.hash = '#/signin';
  refresh();
}

/// The sign-in page: a token field; on success goes back to where the user was heading.
export function signInView(main, next = '#/namespaces') {
  const input = h('input', { type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const msg = h('p', { class: 'muted', role: 'status' });
  const form = h('form', {
    class: 'card narrow',
    onsubmit: async (ev) => {
      ev.preventDefault();
      token.set(input.value.trim());
      msg.textContent = 'Checking…';
      try {
        if ((await refresh()) === 'in' || session.mode === 'off') {
          if (location.hash === next) window.dispatchEvent(new HashChangeEvent('hashchange'));
          else location.hash = next;
        }
        else msg.textContent = 'The server did not accept this token.';
      } catch (e) {
        msg.textContent = `${e.message} (code ${e.code})`;
      }
    },
  },
  h('h1', {}, 'Sign in'),
  h('p', {}, 'This server needs a token. It is kept in this browser tab only.'),
  field('Token', input), msg,
  h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  render(main, form);
  input.focus();
}
