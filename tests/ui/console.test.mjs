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

test('the cluster page shows three members and a leader', async () => {
  await page.getByRole('link', { name: 'Cluster' }).click();
  await page.locator('#members tbody tr').nth(2).waitFor();
  assert.equal(await page.locator('#members tbody tr').count(), 3);
  assert.equal(await page.locator('#members .badge', { hasText: 'leader' }).count(), 1);
  await page.locator('section[aria-label="This node"] td', { hasText: 'raft' }).waitFor();
  await shot('cluster');
});

test('retention preview, tokens and audit pages, narrow screen', async () => {
  await page.getByRole('link', { name: 'Retention' }).click();
  await page.getByLabel('Namespace', { exact: true }).selectOption('shop');
  await page.getByLabel('Keep latest (override)').fill('1');
  await page.getByLabel('Keep days (override)').fill('0');
  await page.getByRole('button', { name: 'Preview (dry run)' }).click();
  await page.getByRole('heading', { name: 'Preview: 3 versions would be removed' }).waitFor();
  const versions = await cluster.api('GET', '/api/v1/config/versions?namespace=shop&key=db');
  assert.equal(versions.body.data.list.length, 4);  // a dry run removes nothing

  await page.getByRole('link', { name: 'Tokens' }).click();
  await page.getByRole('heading', { name: 'Tokens' }).waitFor();
  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();

  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('link', { name: 'Namespaces' }).click();
  await page.locator('tr[data-ns="shop"]').waitFor();
  await shot('namespaces-narrow');
});
