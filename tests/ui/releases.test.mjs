// The console's gray release pages (issue 18) in a real browser against a real 3-node cluster
// with the issue 18 endpoints: two HTTP clients with labels hold watches and ack; the namespace
// page shows them in its Clients tab, starts a release from its Gray release tab (preview: the
// diff against the current values and the target), shows the banner; the release page shows the
// live progress and a failed client's error; pause, resume, promote; the Releases list.
// Run directly (not under --test): `CAIRN_BINARY=build/cairn node releases.test.mjs`. Exits 77
// (skipped) when the server answers 404 to GET /api/v1/admin/releases.
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
const STEP_MS = 15000;

let cluster;
let browser;
let page;
let profile;
const holds = [];  // AbortControllers of the clients' held watches

process.on('exit', () => cluster?.killNow());
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { cluster?.killNow(); process.exit(1); });

cluster = await startCluster(binary);
{
  const probe = await cluster.api('GET', '/api/v1/admin/releases');
  if (probe.status === 404) {
    console.log('SKIP: this server has no /api/v1/admin/releases (issue 18 server side)');
    await cluster.stop();
    cluster = null;
    process.exit(77);
  }
}

/// A client application over plain HTTP: its id and labels on every request.
function httpClient(id, labels) {
  const hdrs = () => ({ Authorization: `Bearer ${cluster.token}`, 'X-Client-ID': id, 'X-Client-Labels': labels, 'Content-Type': 'application/json' });
  return {
    id,
    async read() {
      const r = await fetch(`${cluster.urls[1]}/api/v1/config/namespace/orders`, { headers: hdrs() });
      const body = await r.json();
      assert.equal(body.code, 0, JSON.stringify(body));
      return body.data;
    },
    watch(revision) {
      const c = new AbortController();
      holds.push(c);
      fetch(`${cluster.urls[2]}/api/v1/config/watch?namespace=orders&revision=${revision}&timeout=120s&include_values=true`,
        { headers: hdrs(), signal: c.signal }).catch(() => {});
    },
    async ack(revision, status, error) {
      const r = await fetch(`${cluster.urls[0]}/api/v1/config/ack`, { method: 'POST', headers: hdrs(),
        body: JSON.stringify({ namespace: 'orders', revision, status, ...(error ? { error } : {}) }) });
      const body = await r.json();
      assert.equal(body.code, 0, JSON.stringify(body));
      return body.data;
    },
  };
}

const web1 = httpClient('web-1:101', 'app=orders,zone=eu-1');
const web2 = httpClient('web-2:202', 'app=orders,zone=us-1');
let releaseId = '';

before(async () => {
  fs.mkdirSync(screens, { recursive: true });
  assert.equal((await cluster.api('POST', '/api/v1/admin/namespace', { name: 'orders' })).status, 200);
  assert.equal((await cluster.api('POST', '/api/v1/admin/config', { namespace: 'orders', key: 'db.pool', value: { size: 10, idle: 2 } })).status, 200);
  assert.equal((await cluster.api('POST', '/api/v1/admin/config', { namespace: 'orders', key: 'feature.x', value: false })).status, 200);
  // Node 2 may be a follower a few milliseconds behind the leader: wait until it serves both keys.
  for (let i = 0; i < 100; i++) {
    const d = await web1.read().catch(() => null);
    if (d && Object.keys(d.configs ?? {}).length === 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const c of [web1, web2]) {
    const d = await c.read();
    await c.ack(d.revision, 'applied');
    c.watch(d.revision);
  }
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-ui-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, timeout: 60000,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync'],
  });
  page = browser.pages()[0] ?? await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${cluster.urls[0]}/ui/`);
  await page.getByLabel('Token').fill(cluster.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#who', { hasText: 'signed in as root' }).waitFor();
});

after(async () => {
  for (const c of holds) c.abort();
  await browser?.close().catch(() => {});
  await cluster?.stop();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

const shot = (name) => page.screenshot({ path: path.join(screens, `${name}.png`), fullPage: true });

test('the Clients tab lists who runs which revision, with labels and acks', async () => {
  await page.goto(`${cluster.urls[0]}/ui/#/ns/orders`);
  await page.getByRole('tab', { name: 'Clients' }).click();
  const row1 = page.locator('table.clients tr[data-client="web-1:101"]');
  const row2 = page.locator('table.clients tr[data-client="web-2:202"]');
  await row1.waitFor();
  await row2.waitFor();
  assert.match(await row1.innerText(), /zone=eu-1/);
  assert.match(await row1.locator('td.ack').innerText(), /applied/);
  assert.match(await row1.innerText(), /watching/);
  // The console itself is a client under its own id, not one of these.
  assert.equal(await page.locator('table.clients tr[data-client^="web-"]').count(), 2);
  await page.getByLabel('Client labels').fill('zone=eu-1');
  await page.getByRole('button', { name: 'Refresh' }).click();
  // A locator, not waitForFunction: its polling evaluates a string, which the console's CSP
  // (no 'unsafe-eval') refuses whenever the first check does not already pass.
  await row2.waitFor({ state: 'detached' });
  await row1.waitFor();
  await shot('clients-tab');
});

test('start a release from the namespace page: preview with the diff and the target', async () => {
  await page.getByRole('tab', { name: 'Gray release' }).click();
  await page.getByLabel('Changes (JSON object').fill('{"db.pool": {"size": 20, "idle": 2}, "feature.x": null}');
  await page.getByLabel('Labels (NAME=VALUE').fill('zone=eu-1');
  await page.getByLabel('Stages').fill('zz');
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  await page.locator('.inline-errors .error', { hasText: 'Stages' }).waitFor();
  assert.ok(await page.getByRole('button', { name: 'Start release' }).isDisabled());
  await page.getByLabel('Stages').fill('');
  await page.getByLabel('Release description').fill('bigger pool');
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  const pool = page.locator('.preview-key[data-key="db.pool"]');
  await pool.locator('tr.modified', { hasText: 'size' }).waitFor();
  assert.match(await pool.innerText(), /changed \(current v1\)/);
  assert.match(await page.locator('.preview-key[data-key="feature.x"]').innerText(), /deleted for the gray clients/);
  assert.match(await page.locator('.target-summary').innerText(), /labels zone=eu-1/);
  await shot('release-preview');
  await page.getByRole('button', { name: 'Start release' }).click();
  await page.waitForURL(/#\/releases\/r-/);
  releaseId = decodeURIComponent(page.url().split('#/releases/')[1]);
  await page.locator('h1', { hasText: releaseId }).waitFor();
  await page.locator('.badge.state-active').waitFor();
});

test('live progress: the targeted client reads the gray values and reports a failure', async () => {
  const gray = await web1.read();
  assert.equal(gray.release, releaseId);
  assert.deepEqual(gray.configs['db.pool'], { size: 20, idle: 2 });
  assert.equal(gray.configs['feature.x'], undefined);
  const stable = await web2.read();
  assert.deepEqual(stable.configs['db.pool'], { size: 10, idle: 2 });
  const acked = await web1.ack(gray.revision, 'failed', 'pool size 20 refused by the driver');
  assert.equal(acked.release_id, releaseId);
  // The page re-reads the release every 2 s: no reload.
  await page.locator('.failed-clients tr[data-client="web-1:101"]', { hasText: 'pool size 20 refused by the driver' }).waitFor();
  assert.equal(await page.locator('.counts [data-count="failed"]').innerText(), '1');
  assert.equal(await page.locator('.counts [data-count="targeted"]').innerText(), '1');
  await shot('release-progress');
});

test('the namespace page shows a banner while the release is under way', async () => {
  await page.goto(`${cluster.urls[0]}/ui/#/ns/orders`);
  const banner = page.locator(`.release-banner[data-release="${releaseId}"]`);
  await banner.waitFor();
  assert.match(await banner.innerText(), /db\.pool/);
  await banner.getByRole('link', { name: releaseId }).click();
  await page.locator('h1', { hasText: releaseId }).waitFor();
});

test('pause, resume and promote; a second promote is refused with 40901', async () => {
  await page.getByLabel('Reason').fill('looking at the driver');
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.locator('.badge.state-paused').waitFor();
  assert.ok(await page.getByRole('button', { name: 'Pause' }).isDisabled());
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('.badge.state-active').waitFor();
  await page.locator('.transitions li', { hasText: 'active → paused' }).waitFor();
  await page.getByRole('button', { name: 'Promote' }).click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Promote' }).click();
  await page.locator('.badge.state-promoted').waitFor();
  assert.ok(await page.getByRole('button', { name: 'Promote' }).isDisabled());
  assert.ok(await page.getByRole('button', { name: 'Abort' }).isDisabled());
  const again = await cluster.api('POST', `/api/v1/admin/releases/${releaseId}/promote`, {});
  assert.equal(again.status, 409);
  assert.equal(again.body.code, 40901);
  // Promoted: everyone gets the values.
  for (let i = 0; i < 100; i++) {
    const d = await web2.read();
    if (d.configs['db.pool']?.size === 20) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await web2.read()).configs['db.pool'].size, 20);
  await shot('release-promoted');
});

test('the Releases page lists it; the banner is gone', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Releases' }).click();
  const row = page.locator(`table.releases tr[data-release="${releaseId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /promoted/);
  await page.getByRole('cell', { name: 'orders' }).getByRole('link').click();
  await page.getByRole('tab', { name: 'Configs' }).waitFor();
  await page.waitForTimeout(500);  // the banner's first read has answered by now
  assert.equal(await page.locator('.release-banner').count(), 0);
});
