// Starts a real 3-node `cairn dev` cluster on free 127.0.0.1 ports in a temp dir, with auth on
// and a known root token, and stops every process it started by PID.
//
// A thin JavaScript mirror of DevCluster in tests/support/cairn_cluster.py, the launcher every
// Python suite and bench script uses (node cannot import it): the same options (nodes, free
// consecutive HTTP and peer port ranges, the data dir, --auth with CAIRN_ROOT_TOKEN) and the same
// rules (ready when a leader is known, stop by PID: SIGTERM, then SIGKILL).
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const canListen = (port) => new Promise((resolve) => {
  const s = net.createServer();
  s.once('error', () => resolve(false));
  s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
});

async function freeRange(n, avoid = []) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    const ports = Array.from({ length: n }, (_, i) => base + i);
    if (ports.some((p) => avoid.includes(p))) continue;
    let ok = true;
    for (const p of ports) ok = ok && await canListen(p);
    if (ok) return base;
  }
  throw new Error('no free port range');
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// nodes: 3 (a Raft cluster) or 1; auth: start with --auth and a known root token.
export async function startCluster(binary, { nodes = 3, auth = true } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-ui-'));
  const httpBase = await freeRange(nodes);
  const peerBase = await freeRange(nodes, Array.from({ length: nodes }, (_, i) => httpBase + i));
  const token = `ui-root-${Math.random().toString(36).slice(2)}${Date.now()}`;
  const secret = crypto.randomBytes(32).toString('hex');  // every node's cluster secret
  const log = fs.openSync(path.join(dir, 'dev.log'), 'a');
  const dev = spawn(binary, ['dev', '--nodes', String(nodes), '--http-port', String(httpBase), '--peer-port', String(peerBase),
    '--data-dir', dir, ...(auth ? ['--auth'] : []), '--start-timeout', '60'],
  { env: { ...process.env, CAIRN_ROOT_TOKEN: token, CAIRN_CLUSTER_SECRET: secret }, stdio: ['ignore', log, log] });
  const extra = [];  // nodes started by startNode(), not supervised by `cairn dev`
  const cluster = {
    dir, token, dev, extra,
    urls: Array.from({ length: nodes }, (_, i) => i).map((i) => `http://127.0.0.1:${httpBase + i}`),
    nodePids() {
      return Array.from({ length: nodes }, (_, i) => i + 1).map((i) => {
        try { return Number(fs.readFileSync(path.join(dir, `node${i}`, 'cairn.pid'), 'utf8').trim()); } catch { return 0; }
      }).filter((p) => p > 0);
    },
    async api(method, url, body) {
      const res = await fetch(`${cluster.urls[0]}${url}`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    },
    /// Starts one more `cairn server` (raft id `id`, join mode, auth like the others) on free
    /// ports, to be added through the membership API. Returns {id, http, peer, url, proc}.
    async startNode(id) {
      const taken = [...Array.from({ length: nodes }, (_, i) => httpBase + i), ...Array.from({ length: nodes }, (_, i) => peerBase + i)];
      const h = await freeRange(1, taken);
      const p = await freeRange(1, [...taken, h]);
      const node = { id, http: `127.0.0.1:${h}`, peer: `127.0.0.1:${p}`, url: `http://127.0.0.1:${h}` };
      const members = [...Array.from({ length: nodes }, (_, i) => `${i + 1}@127.0.0.1:${peerBase + i}@127.0.0.1:${httpBase + i}`),
        `${id}@${node.peer}@${node.http}`].join(',');
      const nodeDir = path.join(dir, `node${id}`);
      fs.mkdirSync(nodeDir, { recursive: true });
      const nodeLog = fs.openSync(path.join(dir, `node${id}.log`), 'a');
      node.proc = spawn(binary, ['server', '--node-id', `node${id}`, '--data-dir', nodeDir, '--listen-http', node.http,
        '--raft-id', String(id), '--cluster-id', 'dev', '--listen-peer', node.peer, '--members', members, '--join=true',
        ...(auth ? ['--auth-enabled'] : [])],
      { env: { ...process.env, CAIRN_ROOT_TOKEN: token, CAIRN_CLUSTER_SECRET: secret }, stdio: ['ignore', nodeLog, nodeLog] });
      fs.closeSync(nodeLog);
      extra.push(node);
      for (let i = 0; i < 300; i++) {
        if (node.proc.exitCode !== null) throw new Error(`node${id} exited ${node.proc.exitCode}: ${fs.readFileSync(path.join(dir, `node${id}.log`), 'utf8')}`);
        try {
          const r = await fetch(`${node.url}/livez`);
          if (r.status === 200) return node;
        } catch { /* not listening yet */ }
        await sleep(100);
      }
      throw new Error(`node${id} did not answer within 30 s`);
    },
    /// SIGTERM to `cairn dev` and every node by PID, then SIGKILL whatever is left after 10 s.
    async stop() {
      const pids = [dev.pid, ...cluster.nodePids(), ...extra.map((n) => n.proc.pid)].filter(Boolean);
      for (const pid of pids) if (alive(pid)) try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
      for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(100);
      for (const pid of pids) if (alive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      fs.closeSync(log);
      if (!process.env.CAIRN_UI_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    },
    /// Synchronous last resort for process exit handlers.
    killNow() {
      for (const pid of [dev.pid, ...cluster.nodePids(), ...extra.map((n) => n.proc.pid)]) if (pid && alive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    },
  };
  // Ready when node 1 knows a leader and every member.
  for (let i = 0; i < 600; i++) {
    if (dev.exitCode !== null) throw new Error(`cairn dev exited ${dev.exitCode}: ${fs.readFileSync(path.join(dir, 'dev.log'), 'utf8')}`);
    try {
      // A single node too waits for its own election: a write before it is refused with 50302.
      const r = await cluster.api('GET', '/api/v1/cluster');
      if (r.status === 200 && r.body.data.leader > 0 && r.body.data.members.length === nodes) return cluster;
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  await cluster.stop();
  throw new Error('cluster did not elect a leader within 60 s');
}

/// A headless Chromium with a fresh profile (the browser tests' shared set-up); close with
/// closeBrowser().
export async function openBrowser() {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-ui-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, timeout: 60000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync'],
  });
  const page = browser.pages()[0] ?? await browser.newPage();
  page.setDefaultTimeout(15000);
  return { browser, page, profile };
}

export async function closeBrowser(b) {
  await b?.browser?.close().catch(() => {});
  if (b?.profile) fs.rmSync(b.profile, { recursive: true, force: true });
}
