// The console's entry: a hash router (#/namespaces, #/ns/N, #/ns/N/key/K, #/cluster, …) that
// renders one view into <main>. Views are async functions (main, ...params) and may return a
// cleanup function (the namespace page closes its watch stream).
import { ApiError } from './api.js';
import { refresh, session, signInView } from './auth.js';
import { clearErrors, h, render, showError } from './dom.js';
import { clusterView } from './cluster.js';
import { configView } from './config.js';
import { namespaceView } from './namespace.js';
import { namespacesView } from './namespaces.js';
import { retentionView } from './retention.js';
import { auditView, tokensView } from './admin.js';
import { releasesView, releaseView } from './releases.js';

const routes = [
  [/^#\/namespaces$/, namespacesView],
  [/^#\/ns\/([^/]+)$/, namespaceView],
  [/^#\/ns\/([^/]+)\/key\/(.+)$/, configView],
  [/^#\/cluster$/, clusterView],
  [/^#\/retention$/, retentionView],
  [/^#\/tokens$/, tokensView],
  [/^#\/audit$/, auditView],
  [/^#\/releases$/, releasesView],
  [/^#\/releases\/([^/]+)$/, releaseView],
];

let cleanup = null;

async function show() {
  const main = document.getElementById('main');
  if (cleanup) cleanup();
  cleanup = null;
  clearErrors();
  const hash = location.hash || '#/namespaces';
  for (const a of document.querySelectorAll('nav a')) {
    a.toggleAttribute('aria-current', hash.startsWith(a.getAttribute('href')));
  }
  if (hash === '#/signin' || session.mode === 'out') return signInView(main, hash === '#/signin' ? undefined : hash);
  for (const [re, view] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    render(main, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const params = m.slice(1).map(decodeURIComponent);
      cleanup = (await view(main, ...params)) ?? null;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return signInView(main, hash);
      render(main);
      showError(e);
    }
    return;
  }
  render(main, h('h1', {}, 'Not found'), h('p', {}, 'No such page. ', h('a', { href: '#/namespaces' }, 'Namespaces')));
}

window.addEventListener('hashchange', show);
try {
  await refresh();
} catch (e) {
  showError(e);
}
if (!location.hash) location.hash = '#/namespaces';
else show();
