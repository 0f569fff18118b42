// CTest entry of the browser test: skips (exit 77) with a clear message when its tools are
// missing, else runs console.test.mjs and noauth.test.mjs under node's test runner with a hard time bound.
// With a file argument (`run.mjs releases.test.mjs`) it runs that file directly instead, so that
// the file's own exit 77 (its server lacks the endpoints) reaches CTest as "skipped".
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!fs.existsSync(path.join(here, 'node_modules/playwright-core'))) {
  console.log('SKIP: tests/ui/node_modules is missing; run `make ui-deps` (npm ci --prefix tests/ui)');
  process.exit(77);
}
if (!fs.existsSync(chromium)) {
  console.log(`SKIP: ${chromium} is missing; run scripts/deps.sh (apt-get install chromium)`);
  process.exit(77);
}
const only = process.argv[2];
const child = only
  ? spawn(process.execPath, [path.join(here, only)], { stdio: 'inherit', cwd: here })
  : spawn(process.execPath, ['--test', path.join(here, 'console.test.mjs'), path.join(here, 'noauth.test.mjs'), path.join(here, 'schema.test.mjs'), path.join(here, 'secrets.test.mjs'), path.join(here, 'transfer.test.mjs')], { stdio: 'inherit', cwd: here });
// The whole run is bounded below CTest's TIMEOUT; SIGTERM makes the test stop its cluster.
const watchdog = setTimeout(() => {
  console.log('FAIL: browser test still running after 240 s, stopping it');
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 15000).unref();
}, 240000);
watchdog.unref();
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
