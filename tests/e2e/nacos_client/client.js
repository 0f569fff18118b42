// A real Nacos client library (npm `nacos`, its NacosConfigClient) against Cairn:
// tests/e2e/test_nacos.py runs it with the address of a Cairn node and checks what it prints.
//
//   node client.js HOST:PORT DATA_ID GROUP CACHE_DIR [PASSWORD]
//
// It publishes a first content, reads it back, subscribes (the library's long-polling listener)
// and prints one JSON line per step: {"step":"published"}, {"step":"got","content":…},
// {"step":"subscribed","content":…}, then {"step":"changed","content":…} for every change the
// listener reports. It exits when stdin closes (the test ends it), or after 120 s.

'use strict';

const { NacosConfigClient } = require('nacos');

const [serverAddr, dataId, group, cacheDir, password] = process.argv.slice(2);
const say = (step, extra) => process.stdout.write(JSON.stringify({ step, ...extra }) + '\n');

async function main() {
  const options = { serverAddr, cacheDir, requestTimeout: 10000 };
  if (password) Object.assign(options, { username: 'nacos-client', password });
  const client = new NacosConfigClient(options);
  client.on('error', (err) => say('error', { message: String(err && err.message) }));
  await client.ready();

  const first = 'first: 1\nname: 你好\n';
  const ok = await client.publishSingle(dataId, group, first);
  say('published', { ok });
  const got = await client.getConfig(dataId, group);
  say('got', { content: got });

  let subscribed = false;
  client.subscribe({ dataId, group }, (content) => {
    if (!subscribed) {
      subscribed = true;
      say('subscribed', { content });
    } else {
      say('changed', { content });
    }
  });

  const stop = () => { client.close(); process.exit(0); };
  process.stdin.on('end', stop);
  process.stdin.resume();
  setTimeout(stop, 120000).unref();
}

main().catch((err) => {
  say('error', { message: String(err && err.stack) });
  process.exit(1);
});
