// Typed namespaces in the console (docs/schemas.md): the JSON editor marks the violations of the
// namespace's schema at their JSON path as you type, before anything is saved, and lets the
// value be saved once it passes. One node without auth; usage as console.test.mjs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closeBrowser, openBrowser, startCluster } from './cluster.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const binary = process.env.CAIRN_BINARY ?? path.join(repo, 'build/cairn');
const screens = process.env.CAIRN_UI_SCREENS ?? path.join(repo, 'build/ui-screens');
let node;
let browser;
let page;
let profile;

process.on('exit', () => node?.killNow());
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { node?.killNow(); process.exit(1); });

before(async () => {
  fs.mkdirSync(screens, { recursive: true });
  node = await startCluster(binary, { nodes: 1, auth: false });
  ({ browser, page, profile } = await openBrowser());
});

after(async () => {
  await closeBrowser({ browser, profile });
  await node?.stop();
});

test('the editor marks schema violations before saving', async () => {
  let r = await node.api('POST', '/api/v1/admin/namespace', { name: 'typed' });
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  r = await node.api('PUT', '/api/v1/admin/namespace/typed', {
    schemas: [{ keys: 'db.*', schema: { type: 'object', required: ['host', 'port'],
      properties: { host: { type: 'string' }, port: { type: 'integer', minimum: 1 } } } }],
  });
  assert.equal(r.body.code, 0, JSON.stringify(r.body));

  await page.goto(`${node.urls[0]}/ui/#/ns/typed`);
  await page.getByText('New config').click();
  await page.getByLabel('Key', { exact: true }).fill('db.main');
  const editor = page.getByLabel('Value (JSON)');
  await editor.fill('{"host": "a", "port": "80"}');
  const marked = page.locator('ul.violations li[data-path="/port"][data-rule="type"]');
  await marked.waitFor();
  assert.match(await marked.textContent(), /must be of type integer/);
  assert.ok(await page.getByRole('button', { name: 'Review and create' }).isDisabled());
  await page.locator('.validity.bad', { hasText: 'schema violation' }).waitFor();
  await page.screenshot({ path: path.join(screens, 'schema-violation.png'), fullPage: true });

  await editor.fill('{"port": 0}');
  await page.locator('ul.violations li[data-rule="required"]').waitFor();
  await page.locator('ul.violations li[data-path="/port"][data-rule="minimum"]').waitFor();

  await editor.fill('{"host": "a", "port": 80}');
  await page.locator('.validity.ok').waitFor();
  // Give a late answer to the earlier edit every chance to show up: it must not.
  await page.waitForTimeout(800);
  assert.ok(await page.locator('ul.violations').isHidden());
  assert.ok(await page.getByRole('button', { name: 'Review and create' }).isEnabled());
  await page.getByRole('button', { name: 'Review and create' }).click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: 'Current value · v1' }).waitFor();
});
