// Secrets in the console (docs/secrets.md): a secret key is shown masked with a Reveal button;
// the page holds the plaintext only after Reveal, and only for a token with the `reveal` grant;
// the editor starts from an empty template instead of echoing the stored value; a reveal is audited.
// One node with auth on and a key-encryption key from CAIRN_SECRET_KEY; usage as
// console.test.mjs.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closeBrowser, openBrowser, startCluster } from './cluster.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const binary = process.env.CAIRN_BINARY ?? path.join(repo, 'build/cairn');
const screens = process.env.CAIRN_UI_SCREENS ?? path.join(repo, 'build/ui-screens');
const PLAIN = 'PLAIN-console-s3cr3t-value';
let node;
let browser;
let page;
let profile;

process.on('exit', () => node?.killNow());
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { node?.killNow(); process.exit(1); });

before(async () => {
  fs.mkdirSync(screens, { recursive: true });
  // The nodes `cairn dev` starts inherit the key (docs/secrets.md, "Keys").
  process.env.CAIRN_SECRET_KEY = `k1:${crypto.randomBytes(32).toString('base64')}`;
  node = await startCluster(binary, { nodes: 1, auth: true });
  ({ browser, page, profile } = await openBrowser());
});

after(async () => {
  await closeBrowser({ browser, profile });
  await node?.stop();
});

async function signIn(token, name) {
  await page.goto(`${node.urls[0]}/ui/#/signin`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#who', { hasText: `signed in as ${name}` }).waitFor();
}

async function makeToken(name, grants) {
  const r = await node.api('POST', '/api/v1/admin/tokens', { name, grants });
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  return r.body.data.token;
}

test('a secret is masked, revealed only for the reveal grant, never echoed into the editor', async () => {
  let r = await node.api('POST', '/api/v1/admin/namespace', { name: 'vault', secret_keys: ['*.password'] });
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  r = await node.api('POST', '/api/v1/admin/config', { namespace: 'vault', key: 'db.password', value: PLAIN });
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  const writer = await makeToken('writer', [{ namespace: 'vault', permission: 'write' }]);
  const revealer = await makeToken('revealer', [{ namespace: 'vault', permission: 'write' },
    { namespace: 'vault', permission: 'reveal' }]);

  // Without `reveal`: masked, and Reveal says the token may not.
  await signIn(writer, 'writer');
  await page.goto(`${node.urls[0]}/ui/#/ns/vault/key/db.password`);
  await page.locator('#current-value', { hasText: '"******"' }).waitFor();
  await page.locator('.badge', { hasText: 'secret' }).waitFor();
  const editor = page.getByLabel('Value (JSON)');
  const start = await editor.inputValue();  // an empty template, never the stored value or the mask
  assert.ok(!start.includes(PLAIN) && !start.includes('******'), `the editor holds ${start}`);
  assert.ok(!(await page.content()).includes(PLAIN), 'the plaintext reached the page without reveal');
  await page.getByRole('button', { name: 'Reveal' }).click();
  await page.getByText('your token may not reveal this namespace\'s secrets').waitFor();
  assert.ok(!(await page.content()).includes(PLAIN));

  // With `reveal`: still masked until the button is pressed; then the plaintext, audited.
  await signIn(revealer, 'revealer');
  await page.goto(`${node.urls[0]}/ui/#/ns/vault/key/db.password`);
  await page.locator('#current-value', { hasText: '"******"' }).waitFor();
  assert.ok(!(await page.content()).includes(PLAIN), 'the plaintext reached the page before Reveal');
  assert.equal(await page.getByLabel('Value (JSON)').inputValue(), start);
  await page.getByRole('button', { name: 'Reveal' }).click();
  await page.locator('#current-value', { hasText: PLAIN }).waitFor();
  await page.getByText('revealed (audited)').waitFor();
  await page.screenshot({ path: path.join(screens, 'secret-revealed.png'), fullPage: true });

  // Reveals are audited through the audit queue, which flushes every 200 ms: wait for the entry
  // (bounded) instead of reading the log once.
  let entries = '';
  for (let i = 0; i < 100; i++) {
    r = await node.api('GET', '/api/v1/admin/audit?action=secret.reveal');
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
    entries = JSON.stringify(r.body.data);
    if (/db\.password/.test(entries)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.match(entries, /revealer/, entries);
  assert.match(entries, /db\.password/, entries);
});
