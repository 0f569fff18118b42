// Reads configurations from a Cairn node through the npm Apollo client node-apollo
// (tests/e2e/test_apollo.py runs it). Usage:
//   node read.js <config server url> <appId> <namespace>[,<namespace>...]
// Prints one JSON line: {"skipCache": {...}, "fromCache": {...}}, the merged configurations
// each of node-apollo's two config-service reads returned. Exits 1 with the error otherwise.
'use strict';

const apollo = require('node-apollo');

async function main() {
  const [url, appId, namespaces] = process.argv.slice(2);
  const config = {
    configServerUrl: url,
    appId,
    clusterName: 'default',
    namespaceName: namespaces.split(','),
    clientIp: '127.0.0.1',
  };
  const skipCache = await apollo.remoteConfigServiceSkipCache(config);
  const fromCache = await apollo.remoteConfigServiceFromCache(config);
  process.stdout.write(JSON.stringify({ skipCache, fromCache }) + '\n');
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + '\n');
  process.exit(1);
});
