// The admin console in a real browser (Debian's chromium via playwright-core) against a real
// 3-node cluster. Usage: CAIRN_BINARY=build/cairn node --test console.test.mjs
// Screenshots go to CAIRN_UI_SCREENS (default <repo>/build/ui-screens).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startCluster } from './cluster.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const binary = process.env.CAIRN_BINARY ?? path.join(repo, 'build/cairn');
const screens = process.env.CAIRN_UI_SCREENS ?? path.join(repo, 'build/ui-screens');
const STEP_MS = 15000;  // bound on every wait: a broken page fails, it never hangs

let cluster;
let browser;
let page;
let profile;

// Whatever happens, the cluster's processes die with this one.
process.on('exit', () => cluster?.killNow());
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    cluster?.killNow();
    process.exit(1);
  });
}

before(async () => {
  fs.mkdirSync(screens, { recursive: true });
  cluster = await startCluster(binary);
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-ui-chromium-'));
  // A fresh profile directory (--user-data-dir) for every run.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    timeout: 60000,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync'],
  });
  page = browser.pages()[0] ?? await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await browser?.close().catch(() => {});
  await cluster?.stop();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

const shot = (name) => page.screenshot({ path: path.join(screens, `${name}.png`), fullPage: true });
const dialog = () => page.locator('dialog[open]');

test('sign in with a token', async () => {
  await page.goto(`${cluster.urls[0]}/ui`);  // redirect to /ui/
  await page.waitForURL(/\/ui\/#\/namespaces$/);
  await page.getByLabel('Token').waitFor();
  await shot('signin');
  await page.getByLabel('Token').fill('wrong-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('The server did not accept this token.').waitFor();
  await page.getByLabel('Token').fill(cluster.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#who', { hasText: 'signed in as root' }).waitFor();
});

test('create a namespace, and see the refusal of a duplicate', async () => {
  await page.getByLabel('New namespace').fill('shop');
  await page.getByLabel('Description', { exact: true }).fill('the shop service');
  await page.getByRole('button', { name: 'Create namespace' }).click();
  await page.locator('tr[data-ns="shop"]').waitFor();
  await page.getByLabel('New namespace').fill('shop');
  await page.getByRole('button', { name: 'Create namespace' }).click();
  await page.locator('.error', { hasText: '40901' }).waitFor();
  await shot('namespaces');
});

test('create and edit a config, with the diff shown before saving', async () => {
  await page.getByRole('link', { name: 'shop', exact: true }).click();
  await page.locator('.live-state.live').waitFor();
  await page.getByText('New config').click();
  await page.getByLabel('Key', { exact: true }).fill('db');
  const editor = page.getByLabel('Value (JSON)');
  await editor.fill('{"host": ');
  await page.locator('.validity.bad').waitFor();
  assert.ok(await page.getByRole('button', { name: 'Review and create' }).isDisabled());
  await editor.fill('{"host": "a", "port": 5432}');
  await page.locator('.validity.ok').waitFor();
  await page.getByRole('button', { name: 'Review and create' }).click();
  await dialog().getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: 'Current value · v1' }).waitFor();

  await page.getByLabel('Value (JSON)').fill('{"host": "b", "port": 5432, "pool": 10}');
  await page.getByRole('button', { name: 'Review and save' }).click();
  const preview = dialog();
  await preview.locator('tr.modified', { hasText: 'host' }).waitFor();
  await preview.locator('tr.added', { hasText: 'pool' }).waitFor();
  assert.equal(await preview.locator('tr.modified').count(), 1);
  await shot('diff-preview');
  await preview.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Current value · v2' }).waitFor();
});

test('a concurrent edit is caught (409), not overwritten', async () => {
  const r = await cluster.api('PUT', '/api/v1/admin/config', { namespace: 'shop', key: 'db', value: { host: 'c', port: 5432, pool: 10 } });
  assert.equal(r.body.data.version, 3);
  // Node 1 (the page's node) may be a follower a few milliseconds behind: let it apply v3 first.
  for (let i = 0; i < 100; i++) {
    const local = await cluster.api('GET', '/api/v1/config/get?namespace=shop&key=db');
    if (local.body.data?.version === 3) break;
    await new Promise((done) => setTimeout(done, 50));
  }
  await page.getByLabel('Value (JSON)').fill('{"host": "mine"}');
  await page.getByRole('button', { name: 'Review and save' }).click();
  await dialog().getByRole('button', { name: 'Save' }).click();
  await page.locator('.error', { hasText: '40901' }).waitFor();
  const current = await cluster.api('GET', '/api/v1/config/get?namespace=shop&key=db&consistency=strong');
  assert.deepEqual(current.body.data.value, { host: 'c', port: 5432, pool: 10 });
  await page.getByRole('button', { name: 'Reload the current version' }).click();
  await page.getByRole('heading', { name: 'Current value · v3' }).waitFor();
});

test('history, comparing two versions, rollback', async () => {
  const history = page.locator('section[aria-label="History"] .timeline li');
  await history.first().waitFor();
  assert.equal(await history.count(), 3);
  assert.match(await history.first().innerText(), /UPDATE v3 · root/);
  assert.match(await history.last().innerText(), /CREATE v1 · root/);

  await page.getByLabel('From version').selectOption('1');
  await page.getByLabel('To version').selectOption('3');
  await page.getByRole('button', { name: 'Compare' }).click();
  const result = page.locator('.compare-result');
  await result.locator('tr.modified', { hasText: 'host' }).waitFor();
  await result.locator('tr.added', { hasText: 'pool' }).waitFor();
  await result.locator('.sbs-row:not(.same)', { hasText: '"pool": 10' }).waitFor();
  await shot('config');

  await page.getByRole('button', { name: 'Roll back to v1' }).click();
  await dialog().locator('tr.removed', { hasText: 'pool' }).waitFor();
  await dialog().getByRole('button', { name: 'Roll back' }).click();
  await page.getByRole('heading', { name: 'Current value · v4' }).waitFor();
  assert.deepEqual(JSON.parse(await page.locator('#current-value').innerText()), { host: 'a', port: 5432 });
  await page.locator('section[aria-label="History"] .timeline li', { hasText: 'ROLLBACK v4' }).waitFor();
});

test('a change made through the API appears on an open namespace page', async () => {
  await page.getByRole('link', { name: 'shop', exact: true }).click();
  await page.locator('.live-state.live').waitFor();
  await page.locator('tr[data-key="db"]').waitFor();
  // Through node 2: the change reaches node 1's stream after replication.
  const res = await fetch(`${cluster.urls[1]}/api/v1/admin/config`, {
    method: 'POST', headers: { Authorization: `Bearer ${cluster.token}` },
    body: JSON.stringify({ namespace: 'shop', key: 'feature.flags', value: { beta: true } }),
  });
  assert.equal(res.status, 200);
  await page.locator('.feed li', { hasText: 'feature.flags CREATE v1' }).waitFor();
  await page.locator('tr[data-key="feature.flags"]').waitFor();
  await shot('namespace');
});

test('a batch write from the namespace page creates and updates several keys', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Namespaces' }).click();
  await page.getByRole('link', { name: 'shop', exact: true }).click();
  await page.locator('tr[data-key="db"]').waitFor();
  await page.getByText('Batch write').click();
  const area = page.getByLabel('Configs (JSON object of key → value)');
  await area.fill('{"limits.rps": 100, "bad key!": 1}');
  await page.locator('#batch .validity.bad').waitFor();
  assert.ok(await page.getByRole('button', { name: 'Preview changes' }).isDisabled());
  await area.fill('[1, 2]');
  await page.locator('#batch .validity.bad', { hasText: 'JSON object' }).waitFor();
  const db = (await cluster.api('GET', '/api/v1/config/get?namespace=shop&key=db&consistency=strong')).body.data;
  await area.fill(JSON.stringify({ 'limits.rps': 100, 'limits.burst': 20, 'mail.from': 'shop@example.com',
    'feature.flags': { beta: true }, db: { ...db.value, pool: 5 } }));
  await page.locator('#batch .validity.ok', { hasText: '5 keys' }).waitFor();
  await page.getByRole('button', { name: 'Preview changes' }).click();
  const preview = page.locator('table[aria-label="Batch preview"]');
  await preview.locator('tr[data-key="db"][data-change="update"]').waitFor();
  assert.equal(await preview.locator('tr[data-change="create"]').count(), 3);
  assert.equal(await preview.locator('tr[data-change="unchanged"]').count(), 1);  // feature.flags
  await preview.locator('tr[data-key="db"] summary').click();
  await preview.locator('tr[data-key="db"] tr.added', { hasText: 'pool' }).waitFor();
  await shot('batch-preview');
  await page.getByRole('button', { name: 'Write 4 changes' }).click();
  const results = page.locator('table[aria-label="Batch results"]');
  await results.locator('tr[data-key="limits.rps"]', { hasText: 'v1' }).waitFor();
  await results.locator('tr[data-key="db"]', { hasText: `v${db.version} → v${db.version + 1}` }).waitFor();
  for (const key of ['limits.rps', 'limits.burst', 'mail.from']) await page.locator(`table[aria-label="Configs"] tr[data-key="${key}"]`).waitFor();
  await shot('batch-results');
  const got = await cluster.api('POST', '/api/v1/config/batch-get', { namespace: 'shop', keys: ['limits.rps', 'limits.burst', 'mail.from', 'db'] });
  assert.deepEqual(got.body.data.configs.map((c) => [c.key, c.version]),
    [['limits.rps', 1], ['limits.burst', 1], ['mail.from', 1], ['db', db.version + 1]]);

  // A batch that fails (a key changed after the preview) writes nothing and names the key.
  await area.fill(JSON.stringify({ 'limits.rps': 200, 'limits.new': 1 }));
  await page.getByRole('button', { name: 'Preview changes' }).click();
  await preview.locator('tr[data-key="limits.rps"][data-change="update"]').waitFor();
  const r = await cluster.api('PUT', '/api/v1/admin/config', { namespace: 'shop', key: 'limits.rps', value: 150 });
  assert.equal(r.body.code, 0);
  await page.getByRole('button', { name: 'Write 2 changes' }).click();
  await page.locator('#batch .error', { hasText: '40901' }).waitFor();
  await page.locator('#batch .error', { hasText: 'Key limits.rps failed; nothing was written.' }).waitFor();
  await preview.locator('tr.failed[data-key="limits.rps"]').waitFor();
  const none = await cluster.api('GET', '/api/v1/config/get?namespace=shop&key=limits.new&consistency=strong');
  assert.equal(none.status, 404);
});

test('the namespace page shows the configs as they were at a past time, read-only', async () => {
  // Its own namespace, so that the retention counts of `shop` below stay as they are.
  const sleepToNextSecond = () => new Promise((done) => setTimeout(done, 1010 - (Date.now() % 1000)));
  assert.equal((await cluster.api('POST', '/api/v1/admin/namespace', { name: 'incident' })).body.code, 0);
  const made = await cluster.api('POST', '/api/v1/admin/config', { namespace: 'incident', key: 'db', value: { host: 'old' } });
  assert.equal(made.body.code, 0);
  // A whole second after v1 was written and before v2 is: the noted instant lies strictly
  // between them, whatever precision the server keeps.
  await sleepToNextSecond();
  const noted = Math.floor(Date.now() / 1000) * 1000;
  await sleepToNextSecond();
  const updated = await cluster.api('PUT', '/api/v1/admin/config', { namespace: 'incident', key: 'db', value: { host: 'new' } });
  assert.equal(updated.body.data.version, 2);
  for (let i = 0; i < 100; i++) {  // node 1 (the page's node) may apply v2 a little later
    const local = await cluster.api('GET', '/api/v1/config/get?namespace=incident&key=db');
    if (local.body.data?.version === 2) break;
    await new Promise((done) => setTimeout(done, 50));
  }

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Namespaces' }).click();
  await page.getByRole('link', { name: 'incident', exact: true }).click();
  await page.locator('table[aria-label="Configs"] tr[data-key="db"] .version', { hasText: '2' }).waitFor();
  assert.ok(await page.getByRole('button', { name: 'Now' }).isDisabled());

  // datetime-local takes the browser's local time.
  const local = new Date(noted - new Date(noted).getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  await page.getByLabel('View as of').fill(local);
  const past = page.locator('table[aria-label="Configs as of"]');
  await past.locator('tr[data-key="db"]').waitFor();
  // Sent to the second (the API reads it as that whole second).
  assert.equal(await past.getAttribute('data-at'), new Date(noted).toISOString().replace('.000Z', 'Z'));
  assert.deepEqual(JSON.parse(await past.locator('tr[data-key="db"] pre').innerText()), { host: 'old' });
  await page.locator('.past-banner', { hasText: 'Historical view (read-only)' }).waitFor();
  await page.locator('.past-banner', { hasText: new Date(noted).toISOString().slice(0, 19).replace('T', ' ') }).waitFor();
  // Every write control is disabled (those inside closed <details> too).
  const tools = page.locator('fieldset.write-tools');
  assert.ok(await tools.evaluate((el) => el.disabled));
  const isDisabled = (text) => tools.locator('button', { hasText: text }).evaluate((el) => el.matches(':disabled'));
  assert.ok(await isDisabled('Review and create'));
  assert.ok(await isDisabled('Preview changes'));
  assert.equal(await page.locator('table[aria-label="Configs"]').count(), 0);
  await shot('namespace-as-of');

  await page.getByRole('button', { name: 'Now' }).click();
  await page.locator('table[aria-label="Configs"] tr[data-key="db"] .version', { hasText: '2' }).waitFor();
  await page.locator('table[aria-label="Configs"] tr[data-key="db"] summary').click();
  assert.deepEqual(JSON.parse(await page.locator('table[aria-label="Configs"] tr[data-key="db"] pre').innerText()), { host: 'new' });
  assert.equal(await page.locator('.past-banner').count(), 0);
  assert.ok(!(await tools.evaluate((el) => el.disabled)));
  assert.ok(!(await isDisabled('Review and create')));
  assert.equal(await page.getByLabel('View as of').inputValue(), '');

  // Once retention has removed v1, the past view lists db without a value.
  const cleanup = await cluster.api('POST', '/api/v1/admin/config/cleanup', { namespace: 'incident', keep_latest: 1, keep_days: 0 });
  assert.deepEqual(cleanup.body.data.removed.map((r) => [r.key, r.version]), [['db', 1]]);
  for (let i = 0; i < 100; i++) {  // node 1 applies the clean-up a little later, maybe
    const local1 = await cluster.api('GET', `/api/v1/config/namespace/incident?at=${noted}`);
    if (local1.body.data?.unavailable?.includes('db')) break;
    await new Promise((done) => setTimeout(done, 50));
  }
  await page.getByLabel('View as of').fill(local);
  await past.locator('tr[data-key="db"] .unavailable').waitFor();
});

test('the cluster page shows every member with its health components', async () => {
  await page.getByRole('link', { name: 'Cluster' }).click();
  await page.locator('#members tbody tr').nth(2).waitFor();
  assert.equal(await page.locator('#members tbody tr').count(), 3);
  assert.equal(await page.locator('#members .badge', { hasText: 'leader' }).count(), 1);
  for (const id of [1, 2, 3]) {
    const row = page.locator(`#members tr[data-member="${id}"]`);
    await row.locator('[data-component="raft"]').waitFor();
    await row.locator('[data-component="database"]').waitFor();
    assert.ok(!(await row.getAttribute('class'))?.includes('unreachable'));
  }
  await shot('cluster');
});

test('add a real fourth node from the console, then remove it', async () => {
  const n4 = await cluster.startNode(4);
  await page.getByLabel('Member id').fill('4');
  await page.getByLabel('Peer address').fill(n4.peer);
  await page.getByLabel('HTTP address').fill(n4.http);
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.locator('#members tr[data-member="4"]').waitFor();
  let members = (await cluster.api('GET', '/api/v1/cluster')).body.data.members;
  const m4 = members.find((m) => m.id === 4);
  assert.deepEqual([m4.peer, m4.http], [n4.peer, n4.http]);
  // It catches up and is promoted; its health is asked through node 1.
  let voter = false;
  for (let i = 0; i < 150 && !voter; i++) {
    members = (await cluster.api('GET', '/api/v1/cluster')).body.data.members;
    voter = members.some((m) => m.id === 4 && m.voter);
    if (!voter) await new Promise((done) => setTimeout(done, 100));
  }
  assert.ok(voter, `node 4 never became a voter: ${JSON.stringify(members)}`);
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.locator('#members tr[data-member="4"] [data-component="raft"]').waitFor();
  assert.equal(await page.locator('#members tbody tr').count(), 4);
  await shot('cluster-four');

  // Adding it again is refused with the API's code.
  await page.getByLabel('Member id').fill('4');
  await page.getByLabel('Peer address').fill(n4.peer);
  await page.getByLabel('HTTP address').fill(n4.http);
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.locator('.error', { hasText: '40901' }).waitFor();

  await page.getByRole('button', { name: 'Remove node 4' }).click();
  await dialog().getByRole('heading', { name: 'Remove node 4?' }).waitFor();
  await dialog().getByRole('button', { name: 'Remove' }).click();
  await page.locator('#members tbody tr').nth(2).waitFor();
  await page.locator('#members tr[data-member="4"]').waitFor({ state: 'detached' });
  members = (await cluster.api('GET', '/api/v1/cluster')).body.data.members;
  assert.deepEqual(members.map((m) => m.id).sort(), [1, 2, 3]);
  n4.proc.kill('SIGTERM');
});

test('a stopped member is shown unreachable on the cluster page', async () => {
  // A follower other than node 1 (the page's node): SIGSTOP, then resumed. Pre-vote keeps the
  // leader in place meanwhile, so the next tests write as usual.
  const leader = (await cluster.api('GET', '/api/v1/cluster')).body.data.leader;
  const id = leader === 3 ? 2 : 3;
  const pid = cluster.nodePids()[id - 1];
  process.kill(pid, 'SIGSTOP');
  try {
    await page.getByRole('button', { name: 'Refresh' }).click();
    const row = page.locator(`#members tr.unreachable[data-member="${id}"]`);
    await row.waitFor();
    await row.locator('.member-error').waitFor();
    await row.locator('.badge', { hasText: 'unreachable' }).waitFor();
    await shot('cluster-unreachable');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.locator(`#members tr[data-member="${id}"] [data-component="raft"]`).waitFor();
});

test('retention preview, tokens and audit pages, narrow screen', async () => {
  await page.getByRole('link', { name: 'Retention' }).click();
  await page.getByLabel('Namespace', { exact: true }).selectOption('shop');
  await page.getByLabel('Keep latest (override)').fill('1');
  await page.getByLabel('Keep days (override)').fill('0');
  await page.getByRole('button', { name: 'Preview (dry run)' }).click();
  // db has v1–v5 (the batch wrote v5) and limits.rps v1–v2: all but the latest of each.
  await page.getByRole('heading', { name: 'Preview: 5 versions would be removed' }).waitFor();
  const versions = await cluster.api('GET', '/api/v1/config/versions?namespace=shop&key=db');
  assert.equal(versions.body.data.list.length, 5);  // a dry run removes nothing

  await page.getByRole('link', { name: 'Tokens' }).click();
  await page.getByRole('heading', { name: 'Tokens' }).waitFor();
  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();

  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('link', { name: 'Namespaces' }).click();
  await page.locator('tr[data-ns="shop"]').waitFor();
  await shot('namespaces-narrow');
});
