// The console against a single node without auth: no sign-in, "auth off", and the tokens page
// says it is not available. Usage as console.test.mjs.
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
let node;
let browser;
let page;
let profile;

process.on('exit', () => node?.killNow());
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { node?.killNow(); process.exit(1); });

before(async () => {
  node = await startCluster(binary, { nodes: 1, auth: false });
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-ui-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, timeout: 60000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync'],
  });
  page = browser.pages()[0] ?? await browser.newPage();
  page.setDefaultTimeout(15000);
});

after(async () => {
  await browser?.close().catch(() => {});
  await node?.stop();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

test('auth off: no sign-in, tokens not available, single node', async () => {
  await page.goto(`${node.urls[0]}/ui/`);
  await page.locator('#who', { hasText: 'auth off' }).waitFor();
  await page.getByRole('heading', { name: 'Namespaces' }).waitFor();
  assert.equal(await page.getByLabel('Token').count(), 0);
  await page.getByRole('link', { name: 'Tokens' }).click();
  await page.locator('#not-available', { hasText: 'Not available on this server.' }).waitFor();
  await page.getByRole('link', { name: 'Cluster' }).click();
  // `cairn dev --nodes 1` runs a one-member Raft group.
  await page.locator('#members tr[data-member="1"] [data-component="database"]').waitFor();
  assert.equal(await page.locator('#members tbody tr').count(), 1);
  // Auth off: the membership controls are enabled.
  assert.ok(await page.getByRole('button', { name: 'Add member' }).isEnabled());
});
