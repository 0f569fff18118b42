// Previous / next buttons for the API's {page, page_size, total, total_pages}.
import { h } from './dom.js';

export function pager(p, go) {
  if (!p) return null;
  const last = Math.max(1, p.total_pages ?? 1);
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('button', { type: 'button', disabled: p.page <= 1, onclick: () => go(p.page - 1) }, '‹ Previous'),
    h('span', {}, `page ${p.page} of ${last} · ${p.total} total`),
    h('button', { type: 'button', disabled: p.page >= last, onclick: () => go(p.page + 1) }, 'Next ›'));
}
