// Import and export in the console (docs/import-export.md): a namespace is exported as a file
// the browser downloads; a Consul export is previewed (every key "create"), imported, and a
// changed key then shows as a conflict that "abort" refuses to import and "overwrite" writes.
// One node with auth off; usage as console.test.mjs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closeBrowser, openBrowser, startCluster } from './cluster.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const binary = process.env.CAIRN_BINARY ?? path.join(repo, 'build/cairn');
const consulFile = path.join(repo, 'tests/data/import/consul-kv-export.json');
let node;
let browser;
let page;
let profile;

process.on('exit', () => node?.killNow());
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { node?.killNow(); process.exit(1); });

before(async () => {
  node = await startCluster(binary, { nodes: 1, auth: false });
  ({ browser, page, profile } = await openBrowser());
});

after(async () => {
  await closeBrowser({ browser, profile });
  await node?.stop();
});

test('export a namespace; import a Consul file with the dry-run preview and the conflict policy', async () => {
  let r = await node.api('POST', '/api/v1/admin/namespace', { name: 'orders' });
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  await page.goto(`${node.urls[0]}/ui/#/ns/orders`);
  await page.getByText('Import / export').click();

  // Preview: nothing written, every key of the orders/ prefix (and billing/) would be created.
  await page.getByLabel('File to import').setInputFiles(consulFile);
  await page.getByLabel('Source').selectOption('consul');
  await page.getByRole('button', { name: 'Preview (dry run)' }).click();
  await page.locator('.import-plan .summary', { hasText: '5 create' }).waitFor();
  r = await node.api('GET', '/api/v1/admin/config/list?namespace=orders');
  assert.equal(r.body.data.pagination.total, 0, 'the preview wrote something');
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByText('Imported 5 key(s)').waitFor();
  r = await node.api('GET', '/api/v1/config/get?namespace=orders&key=db/url');
  assert.equal(r.body.data.value, 'postgres://db:5432/orders');

  // A key changed since: a conflict; "abort" keeps Import disabled, "overwrite" writes it.
  r = await node.api('PUT', '/api/v1/admin/config', { namespace: 'orders', key: 'db/url', value: 'changed' });
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  await page.getByRole('button', { name: 'Preview (dry run)' }).click();
  await page.locator('tr[data-key="orders/db/url"]', { hasText: 'conflict' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Import', exact: true }).isDisabled(), true);
  await page.getByLabel('On conflict').selectOption('overwrite');
  await page.getByRole('button', { name: 'Preview (dry run)' }).click();
  await page.locator('tr[data-key="orders/db/url"]', { hasText: 'update' }).waitFor();
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByText('Imported 1 key(s)').waitFor();
  r = await node.api('GET', '/api/v1/config/get?namespace=orders&key=db/url');
  assert.equal(r.body.data.value, 'postgres://db:5432/orders');

  // Export: the browser downloads the namespace as JSON, values as stored.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'cairn-export-orders.json');
  const file = await download.path();
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(doc.format, 'cairn-export');
  assert.equal(doc.namespaces[0].name, 'orders');
  assert.ok(doc.namespaces[0].configs.some((c) => c.key === 'db/url' && c.value === 'postgres://db:5432/orders'));
});
