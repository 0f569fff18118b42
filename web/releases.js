// Gray releases (issue 18, docs/releases.md): the Releases page (#/releases, every release with
// its state and progress), one release (#/releases/ID: stages, live progress, failed clients and
// their errors, transitions; promote / abort / pause / resume), and the namespace page's parts:
// a banner while a release of it is under way, and the "Gray release" tab that starts one with a
// preview of the changes against the current values and of the target.
import { get, notAvailable, post, settle } from './api.js';
import { can } from './auth.js';
import { clientsPanel } from './clients.js';
import { jsonChanges, changesTable } from './diff.js';
import { attempt, confirmDialog, enc, field, fmtTime, h, pretty, render, showError, toast } from './dom.js';

/// States in which a release still shapes what clients see.
const UNDER_WAY = new Set(['active', 'paused', 'halted']);
const POLL_MS = 2000;
const DURATION = /^(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))*$/;

const stateBadge = (s) => h('span', { class: `badge state-${s} ${s === 'active' || s === 'promoted' ? 'on' : s === 'aborted' || s === 'halted' ? 'off' : 'warn'}` }, s);

function stageText(r) {
  const stages = r.stages ?? [];
  if (!stages.length) return 'single stage';
  const s = stages[r.stage] ?? {};
  return `stage ${(r.stage ?? 0) + 1} of ${stages.length} (${s.percent ?? '?'}%)`;
}

/// "labels zone in (eu-1) and (ips 10.0.0.0/8 or 10% of clients)".
export function targetText(t = {}) {
  const parts = [];
  const labels = Object.entries(t.labels ?? {});
  if (labels.length) {
    parts.push(`labels ${labels.map(([k, v]) => (Array.isArray(v) ? `${k} in (${v.join(', ')})` : `${k}=${v}`)).join(' and ')}`);
  }
  const alt = [];
  if (t.ips?.length) alt.push(`ips ${t.ips.join(', ')}`);
  if (t.percent !== undefined && t.percent !== null) alt.push(`${t.percent}% of clients`);
  if (alt.length === 2) parts.push(`(${alt.join(' or ')})`);
  else if (alt.length) parts.push(alt[0]);
  return parts.length ? parts.join(' and ') : 'every client';
}

const count = (r, k) => r.progress?.[k] ?? 0;

/// "more than 1% of acks failed, or fewer than 20 acks within 2m → halt".
export function guardText(g, onFailure = 'halt') {
  if (!g) return 'none';
  const when = [];
  if (g.max_failed_ratio !== undefined && g.max_failed_ratio !== null) when.push(`more than ${+(g.max_failed_ratio * 100).toFixed(4)}% of acks failed`);
  if (g.min_acks !== undefined && g.min_acks !== null) when.push(`fewer than ${g.min_acks} acks${g.ack_timeout ? ` within ${g.ack_timeout}` : ''}`);
  else if (g.ack_timeout) when.push(`targeted clients silent after ${g.ack_timeout}`);
  return `${when.join(', or ') || 'the guard fails'} → ${onFailure ?? 'halt'}`;
}

function widthOf(el, percent) {
  el.style.width = `${percent}%`;
  return el;
}

function progressView(r) {
  const p = r.progress ?? {};
  const targeted = p.targeted ?? 0;
  const pct = (n) => (targeted ? Math.round((100 * n) / targeted) : 0);
  return h('div', { class: 'progress', 'aria-label': 'Progress' },
    h('div', { class: 'bar', role: 'img', 'aria-label': `${p.applied ?? 0} applied, ${p.failed ?? 0} failed of ${targeted}` },
      // Widths through the CSSOM: the console's Content-Security-Policy refuses style attributes.
      widthOf(h('span', { class: 'applied' }), pct(p.applied ?? 0)),
      widthOf(h('span', { class: 'failed' }), pct(p.failed ?? 0))),
    h('dl', { class: 'facts counts' },
      ['targeted', 'received', 'applied', 'failed', 'silent'].flatMap((k) => [
        h('dt', {}, k), h('dd', { class: `num count-${k}`, 'data-count': k }, p[k] ?? 0)])));
}

// ---- the list ----

export async function releasesView(main) {
  const errors = h('div', { class: 'inline-errors', role: 'alert' });
  const out = h('div', { 'aria-live': 'polite' });
  const ns = h('input', { type: 'text', placeholder: 'every namespace' });
  const state = h('select', {}, h('option', { value: '' }, 'any state'),
    ['active', 'paused', 'halted', 'promoted', 'aborted'].map((s) => h('option', { value: s }, s)));
  let timer = null;
  let stopped = false;

  async function load() {
    clearTimeout(timer);
    try {
      const data = await get('/api/v1/admin/releases', { namespace: ns.value.trim(), state: state.value });
      errors.replaceChildren();
      const list = data.releases ?? [];
      render(out, list.length ? table(list) : h('p', { class: 'muted' }, 'No releases.'));
    } catch (e) {
      if (notAvailable(e)) {
        render(out, h('p', { class: 'muted' }, 'Gray releases are not available on this server.'));
        return;
      }
      errors.replaceChildren();
      showError(e, errors);
    }
    if (!stopped) timer = setTimeout(load, POLL_MS * 2);
  }

  function table(list) {
    return h('div', { class: 'scroll' }, h('table', { class: 'grid releases', 'aria-label': 'Releases' },
      h('thead', {}, h('tr', {}, ['Release', 'Namespace', 'State', 'Stage', 'Target', 'Targeted', 'Applied', 'Failed', 'Silent', 'Started']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map((r) => h('tr', { 'data-release': r.id },
        h('td', {}, h('a', { href: `#/releases/${enc(r.id)}` }, r.id)),
        h('td', {}, h('a', { href: `#/ns/${enc(r.namespace)}` }, r.namespace)),
        h('td', {}, stateBadge(r.state)),
        h('td', { 'data-label': 'stage' }, stageText(r)),
        h('td', { class: 'desc', 'data-label': 'target' }, targetText(r.target)),
        ['targeted', 'applied', 'failed', 'silent'].map((k) => h('td', { class: `num count-${k}`, 'data-label': k }, count(r, k))),
        h('td', { 'data-label': 'started' }, fmtTime(r.created_at)))))));
  }

  render(main, h('h1', {}, 'Releases'),
    h('p', { class: 'muted' }, 'Gray releases show changes to a slice of the clients first. Start one from a namespace’s “Gray release” tab.'),
    h('form', { class: 'card row wrap', onsubmit: (ev) => { ev.preventDefault(); load(); } },
      field('Namespace', ns), field('State', state), h('button', { type: 'submit' }, 'Filter')),
    errors, out);
  state.addEventListener('change', load);
  await load();
  return () => { stopped = true; clearTimeout(timer); };
}

// ---- one release ----

export async function releaseView(main, id) {
  const errors = h('div', { class: 'inline-errors', role: 'alert' });
  const body = h('div', { 'aria-live': 'polite' });
  const reason = h('input', { type: 'text', maxlength: 1024, placeholder: 'recorded with the transition' });
  const buttons = {};
  let release = await get(`/api/v1/admin/releases/${enc(id)}`);
  let timer = null;
  let stopped = false;

  const allowed = {
    promote: (s) => s === 'active' || s === 'paused' || s === 'halted',
    abort: (s) => UNDER_WAY.has(s),
    pause: (s) => s === 'active',
    resume: (s) => s === 'paused' || s === 'halted',
  };
  const confirmText = {
    promote: 'Make the gray values the current versions for every client?',
    abort: 'Drop the gray values? The gray clients go back to the stable values.',
  };

  async function act(action) {
    if (confirmText[action] && !(await confirmDialog(`${action[0].toUpperCase()}${action.slice(1)} ${id}`,
      h('p', {}, confirmText[action]), action[0].toUpperCase() + action.slice(1)))) return;
    const r = await attempt(() => post(`/api/v1/admin/releases/${enc(id)}/${action}`, reason.value ? { reason: reason.value } : {}), errors);
    if (!r) return;
    reason.value = '';
    toast(`Release ${id}: ${r.state}`);
    release = r;
    show();
  }

  for (const a of ['promote', 'pause', 'resume', 'abort']) {
    buttons[a] = h('button', { type: 'button', class: a === 'promote' ? 'primary' : a === 'abort' ? 'danger' : '', 'data-action': a, onclick: () => act(a) },
      a[0].toUpperCase() + a.slice(1));
  }

  function show() {
    const r = release;
    const admin = can('admin', r.namespace);
    for (const [a, b] of Object.entries(buttons)) b.disabled = !admin || !allowed[a](r.state);
    const failedClients = r.progress?.failed_clients ?? [];
    render(body,
      h('h1', {}, 'Release ', h('code', {}, r.id), ' ', stateBadge(r.state)),
      h('p', { class: 'crumbs' }, h('a', { href: '#/releases' }, 'Releases'), ' / namespace ',
        h('a', { href: `#/ns/${enc(r.namespace)}` }, r.namespace)),
      r.description ? h('p', {}, r.description) : null,
      r.reason ? h('p', { class: `reason ${r.state === 'halted' || r.state === 'aborted' ? 'past-banner' : 'muted'}` }, h('strong', {}, 'Reason: '), r.reason) : null,
      h('div', { class: 'cols' },
        h('section', { 'aria-label': 'Progress' },
          h('div', { class: 'card' }, h('h2', {}, 'Stages'),
            (r.stages ?? []).length
              ? h('ol', { class: 'stages' }, r.stages.map((s, i) => h('li', {
                class: i === r.stage ? 'current' : i < r.stage ? 'done' : 'todo', 'aria-current': i === r.stage ? 'step' : undefined },
              `${s.percent}% of the target`, s.hold ? `, hold ${s.hold}` : '', i === r.stage ? ' — current' : '')))
              : h('p', {}, 'One stage: every client of the target.'),
            h('p', {}, h('strong', {}, 'Target: '), targetText(r.target)),
            r.guard ? h('p', { class: 'guard' }, h('strong', {}, 'Guard: '), guardText(r.guard, r.on_failure))
              : h('p', { class: 'muted' }, 'No guard.')),
          h('div', { class: 'card' }, h('h2', {}, `Progress of ${stageText(r)}`), progressView(r),
            failedClients.length
              ? [h('h2', {}, 'Failed clients'),
                h('table', { class: 'grid failed-clients', 'aria-label': 'Failed clients' },
                  h('thead', {}, h('tr', {}, ['Client', 'IP', 'Node', 'Revision', 'Error'].map((t) => h('th', { scope: 'col' }, t)))),
                  h('tbody', {}, failedClients.map((c) => h('tr', { 'data-client': c.id },
                    h('td', {}, h('code', {}, c.id)), h('td', {}, c.ip ?? ''), h('td', { class: 'num' }, c.node ?? ''),
                    h('td', { class: 'num' }, c.revision ?? ''), h('td', { class: 'member-error' }, c.error ?? '')))))]
              : null),
          h('div', { class: 'card' }, h('h2', {}, 'Changes'),
            h('table', { class: 'grid release-changes', 'aria-label': 'Changes' },
              h('thead', {}, h('tr', {}, ['Key', 'Gray value'].map((t) => h('th', { scope: 'col' }, t)))),
              h('tbody', {}, Object.entries(r.changes ?? {}).map(([k, v]) => h('tr', { 'data-key': k },
                h('td', {}, h('code', {}, k)),
                h('td', {}, v === null ? h('span', { class: 'badge off' }, 'deleted') : h('pre', { class: 'json' }, pretty(v))))))))),
        h('section', { class: 'card', 'aria-label': 'Actions and history' },
          h('h2', {}, 'Actions'),
          can('admin', r.namespace) ? null : h('p', { class: 'muted small' }, 'Needs admin on the namespace.'),
          field('Reason', reason),
          h('div', { class: 'row wrap release-actions' }, Object.values(buttons)),
          h('dl', { class: 'facts' }, h('dt', {}, 'revision'), h('dd', {}, r.revision ?? ''),
            h('dt', {}, 'created'), h('dd', {}, `${fmtTime(r.created_at)} by ${r.created_by ?? ''}`),
            h('dt', {}, 'updated'), h('dd', {}, fmtTime(r.updated_at))),
          h('h2', {}, 'Transitions'),
          h('ol', { class: 'timeline transitions' }, [...(r.transitions ?? [])].reverse().map((t) => h('li', {},
            h('strong', {}, `${t.from ?? '—'} → ${t.to}`), ` stage ${(t.stage ?? 0) + 1}`, h('br'),
            h('span', { class: 'muted small' }, `${fmtTime(t.at)}${t.operator ? ` by ${t.operator}` : ''}`),
            t.reason ? h('div', { class: 'small' }, t.reason) : null))))));
  }

  async function poll() {
    try {
      release = await get(`/api/v1/admin/releases/${enc(id)}`);
      errors.replaceChildren();
      if (!stopped && document.activeElement !== reason) show();
    } catch (e) {
      errors.replaceChildren();
      showError(e, errors);
    }
    if (!stopped && UNDER_WAY.has(release.state)) timer = setTimeout(poll, POLL_MS);
  }

  render(main, errors, body);
  show();
  if (UNDER_WAY.has(release.state)) timer = setTimeout(poll, POLL_MS);
  return () => { stopped = true; clearTimeout(timer); };
}

// ---- the namespace page's parts ----

/// A banner for the releases of `ns` under way (refreshed every few seconds), empty otherwise.
function releaseBanner(ns) {
  const el = h('div', { class: 'release-banner-box', 'aria-live': 'polite' });
  let timer = null;
  let stopped = false;
  async function load() {
    try {
      const data = await get('/api/v1/admin/releases', { namespace: ns });
      const live = (data.releases ?? []).filter((r) => r.namespace === ns && UNDER_WAY.has(r.state));
      render(el, live.map((r) => h('p', { class: 'past-banner release-banner', role: 'status', 'data-release': r.id },
        h('strong', {}, `Gray release ${r.state}`), `: `, h('a', { href: `#/releases/${enc(r.id)}` }, r.id),
        ` — ${stageText(r)}, ${count(r, 'applied')} of ${count(r, 'targeted')} targeted clients applied`,
        count(r, 'failed') ? `, ${count(r, 'failed')} failed` : '',
        `. Keys ${Object.keys(r.changes ?? {}).join(', ')} differ for ${targetText(r.target)}; direct writes to them are refused until it ends.`)));
    } catch (e) {
      if (notAvailable(e) || e.status === 403) return;  // no releases here, or not ours to see
    }
    if (!stopped) timer = setTimeout(load, POLL_MS * 2);
  }
  load();
  return { element: el, load, stop: () => { stopped = true; clearTimeout(timer); } };
}

/// Parses the start form's fields into the POST /api/v1/admin/releases body; throws an Error
/// naming the field for input the API would refuse anyway.
export function releaseBody(ns, f) {
  let changes;
  try {
    changes = JSON.parse(f.changes || '{}');
  } catch (e) {
    throw new Error(`Changes: not JSON (${e.message})`);
  }
  if (!changes || typeof changes !== 'object' || Array.isArray(changes) || !Object.keys(changes).length) {
    throw new Error('Changes: a JSON object of at least one key → new value (null deletes the key)');
  }
  const target = {};
  const labels = {};
  for (const line of (f.labels ?? '').split(/[\n;]/).map((s) => s.trim()).filter(Boolean)) {
    const m = line.match(/^([^=\s]+)=(.*)$/);
    if (!m) throw new Error(`Labels: "${line}" is not NAME=VALUE[,VALUE…]`);
    const values = m[2].split(',').map((s) => s.trim());
    const prev = labels[m[1]];
    const all = [...(prev === undefined ? [] : [prev].flat()), ...values];
    labels[m[1]] = all.length === 1 ? all[0] : all;
  }
  if (Object.keys(labels).length) target.labels = labels;
  const ips = (f.ips ?? '').split(/[\s,]+/).filter(Boolean);
  if (ips.length) target.ips = ips;
  if (f.percent !== '' && f.percent !== undefined) {
    const p = Number(f.percent);
    if (!(p >= 0 && p <= 100)) throw new Error('Percent: a number from 0 to 100');
    target.percent = p;
  }
  const body = { namespace: ns, changes, target };
  const plan = {};
  const stages = (f.stages ?? '').split(/[\s,]+/).filter(Boolean).map((s) => {
    const [p, hold] = s.split(':');
    const percent = Number(p);
    if (p === '' || !(percent >= 0 && percent <= 100)) throw new Error(`Stages: "${s}" is not PERCENT[:HOLD]`);
    if (hold !== undefined && !DURATION.test(hold)) throw new Error(`Stages: hold "${hold}" is not a duration like 10m or 1h30m`);
    return hold === undefined ? { percent } : { percent, hold };
  });
  if (stages.length) plan.stages = stages;
  const guard = {};
  if (f.maxFailedRatio !== '' && f.maxFailedRatio !== undefined) {
    const r = Number(f.maxFailedRatio);
    if (!(r >= 0 && r <= 1)) throw new Error('Max failed ratio: from 0 to 1 (0.01 = 1%)');
    guard.max_failed_ratio = r;
  }
  if (f.minAcks !== '' && f.minAcks !== undefined) guard.min_acks = Number(f.minAcks);
  if (f.ackTimeout) {
    if (!DURATION.test(f.ackTimeout)) throw new Error(`Ack timeout: "${f.ackTimeout}" is not a duration like 2m`);
    guard.ack_timeout = f.ackTimeout;
  }
  if (Object.keys(guard).length) plan.guard = guard;
  if (f.onFailure && (plan.stages || plan.guard)) plan.on_failure = f.onFailure;
  if (Object.keys(plan).length) body.plan = plan;
  if (f.description) body.description = f.description;
  return body;
}

/// The current (stable) values of `ns`, from the admin list (not a client read: the console
/// could itself be in a release's target), with their status.
async function currentValues(ns) {
  const out = new Map();
  for (let page = 1; ; page++) {
    const data = await get('/api/v1/admin/config/list', { namespace: ns, page, page_size: 1000 });
    for (const c of data.list) out.set(c.key, c);
    if (page >= (data.pagination?.total_pages ?? 1)) return out;
  }
}

/// The "Gray release" tab: the form, a preview (diff per key against the current values and the
/// target in words), then Start.
function startForm(ns) {
  const errors = h('div', { class: 'inline-errors', role: 'alert' });
  const preview = h('div', { class: 'release-preview', 'aria-live': 'polite' });
  const f = {
    changes: h('textarea', { class: 'json', rows: 6, spellcheck: 'false', placeholder: '{"db.pool": {"size": 20}, "old.flag": null}' }),
    labels: h('textarea', { rows: 2, spellcheck: 'false', placeholder: 'zone=eu-1,eu-2\napp=orders' }),
    ips: h('input', { type: 'text', placeholder: '10.0.0.7, 10.1.0.0/16' }),
    percent: h('input', { type: 'number', min: 0, max: 100, step: 'any', placeholder: 'all' }),
    stages: h('input', { type: 'text', placeholder: '5:10m, 25:10m, 100' }),
    maxFailedRatio: h('input', { type: 'number', min: 0, max: 1, step: 'any', placeholder: '0.01' }),
    minAcks: h('input', { type: 'number', min: 0, step: 1, placeholder: '20' }),
    ackTimeout: h('input', { type: 'text', placeholder: '2m' }),
    onFailure: h('select', {}, h('option', { value: 'halt' }, 'halt'), h('option', { value: 'abort' }, 'abort')),
    description: h('input', { type: 'text', maxlength: 512 }),
  };
  const startBtn = h('button', { type: 'button', class: 'primary', disabled: true, onclick: start }, 'Start release');
  let body = null;

  const values = () => Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value.trim()]));

  async function showPreview() {
    errors.replaceChildren();
    startBtn.disabled = true;
    try {
      body = releaseBody(ns, values());
    } catch (e) {
      render(preview);
      showError(e, errors);
      return;
    }
    const current = await attempt(() => currentValues(ns), errors);
    if (!current) return;
    const rows = Object.entries(body.changes).map(([key, to]) => {
      const c = current.get(key);
      const from = c ? c.value : undefined;
      let what;
      if (to === null) what = c ? 'deleted for the gray clients' : 'no such key (nothing to delete)';
      else if (!c) what = 'new key for the gray clients';
      else if (JSON.stringify(from) === JSON.stringify(to)) what = 'unchanged (same value)';
      else what = `changed (current v${c.version}${c.status ? '' : ', disabled'})`;
      return h('div', { class: 'card preview-key', 'data-key': key },
        h('h2', {}, h('code', {}, key), ' ', h('span', { class: 'muted small' }, what)),
        to === null || !c ? h('div', { class: 'cols' },
          h('div', {}, h('strong', {}, 'Current'), c ? h('pre', { class: 'json' }, pretty(from)) : h('p', { class: 'muted' }, 'absent')),
          h('div', {}, h('strong', {}, 'Gray'), to === null ? h('p', { class: 'muted' }, 'absent (deleted)') : h('pre', { class: 'json' }, pretty(to))))
          : changesTable(jsonChanges(from, to)));
    });
    const stages = body.plan?.stages ?? [];
    render(preview, h('h2', {}, 'Preview'),
      h('p', { class: 'target-summary' }, h('strong', {}, 'Target: '), targetText(body.target),
        stages.length ? ` — in ${stages.length} stages: ${stages.map((s) => `${s.percent}%${s.hold ? ` for ${s.hold}` : ''}`).join(', then ')}` : ''),
      body.plan?.guard ? h('p', {}, h('strong', {}, 'Guard: '), guardText(body.plan.guard, body.plan.on_failure)) : null,
      stages.length && body.target.percent !== undefined
        ? h('p', { class: 'muted small' }, `With stages, each stage's percent replaces the target's ${body.target.percent}%.`) : null,
      rows, h('details', {}, h('summary', {}, 'Request body'), h('pre', { class: 'json' }, pretty(body))));
    startBtn.disabled = false;
  }

  async function start() {
    if (!body) return;
    startBtn.disabled = true;
    const r = await attempt(() => post('/api/v1/admin/releases', body), errors);
    if (!r) {
      startBtn.disabled = false;
      return;
    }
    toast(`Started release ${r.id}`);
    // This node may be a follower: wait until it knows the release before showing it.
    await settle(async () => (await get(`/api/v1/admin/releases/${enc(r.id)}`)).id === r.id);
    location.hash = `#/releases/${enc(r.id)}`;
  }

  for (const el of Object.values(f)) el.addEventListener('input', () => { startBtn.disabled = true; });
  return h('section', { class: 'release-start', 'aria-label': 'Start a gray release' },
    h('p', { class: 'muted small' }, 'The changes are served only to the clients the target selects (labels AND (IPs OR percent)); the others keep the current values until you promote.'),
    h('form', { onsubmit: (ev) => { ev.preventDefault(); showPreview(); } },
      field('Changes (JSON object: key → gray value; null deletes the key)', f.changes),
      h('div', { class: 'row wrap' }, field('Labels (NAME=VALUE[,VALUE…] per line)', f.labels),
        field('IPs or CIDRs', f.ips), field('Percent of clients', f.percent)),
      h('div', { class: 'row wrap' }, field('Stages (PERCENT[:HOLD], …)', f.stages),
        field('Max failed ratio', f.maxFailedRatio), field('Min acks', f.minAcks),
        field('Ack timeout', f.ackTimeout), field('On failure', f.onFailure)),
      field('Release description', f.description),
      h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Preview'), startBtn)),
    errors, preview);
}

/// The namespace page's extra parts: `banner` (releases under way), `tabs(configs)` wrapping the
/// page's configs section with the Clients and Gray release tabs, and `stop()` for the page's
/// clean-up. `revision()` answers the namespace's current revision.
export function namespaceExtras(ns, { revision = () => 0 } = {}) {
  const banner = releaseBanner(ns);
  const clients = clientsPanel(ns, { current: revision });
  const tabs = (configs) => {
    const panels = [
      ['configs', 'Configs', configs],
      ['clients', 'Clients', clients.element],
      ...(can('admin', ns) ? [['release', 'Gray release', startForm(ns)]] : []),
    ];
    const buttons = [];
    const boxes = [];
    const select = (i) => {
      panels.forEach((p, j) => {
        buttons[j].setAttribute('aria-selected', String(i === j));
        buttons[j].tabIndex = i === j ? 0 : -1;
        boxes[j].hidden = i !== j;
      });
      if (panels[i][0] === 'clients') clients.load();
    };
    panels.forEach(([id, title, content], i) => {
      buttons.push(h('button', { type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': `panel-${id}`, class: 'tab', onclick: () => select(i),
        onkeydown: (ev) => {
          const d = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
          if (!d) return;
          const next = (i + d + panels.length) % panels.length;
          select(next);
          buttons[next].focus();
        } }, title));
      boxes.push(h('div', { role: 'tabpanel', id: `panel-${id}`, 'aria-labelledby': `tab-${id}` }, content));
    });
    const el = h('div', { class: 'tabs' }, h('div', { role: 'tablist', 'aria-label': 'Namespace views', class: 'tablist' }, buttons), boxes);
    select(0);
    return el;
  };
  return { banner: banner.element, tabs, stop: banner.stop, refresh: banner.load };
}
