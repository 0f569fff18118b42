// Secret values (docs/secrets.md): shown masked, with a Reveal button that asks the server for
// the plaintext (reveal=true: answered in plain only to a token holding `reveal`, and audited).
// The page never holds a stored secret unless the user revealed it.
import { get } from './api.js';
import { attempt, h, pretty, render } from './dom.js';

/// The current value of a secret key: the mask, a badge and the Reveal button.
export function secretValue(ns, key, errors) {
  const shown = h('pre', { class: 'json', id: 'current-value' }, '"******"');
  const note = h('span', { class: 'muted' });
  const button = h('button', { type: 'button', onclick: async () => {
    const r = await attempt(() => get('/api/v1/config/get', { namespace: ns, key, reveal: 'true' }), errors);
    if (!r) return;
    if (r.secret && r.value === '******') {
      render(note, 'your token may not reveal this namespace\'s secrets');
      return;
    }
    render(shown, pretty(r.value));
    render(note, 'revealed (audited)');
    button.disabled = true;
  } }, 'Reveal');
  return h('div', {}, h('span', { class: 'badge warn', title: 'a secret value' }, 'secret'), ' ',
    button, ' ', note, shown);
}
