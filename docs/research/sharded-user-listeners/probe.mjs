// Measures one running edge Envoy (started by run.sh). Prints one JSON object per line.
//
//   node probe.mjs suite WORK SHARDS USERS EDGE_PORT DIRECT_PORT ADMIN_PORT ENVOY_PID [latency]
//
// 1. update timing: rewrites the state-of-the-world LDS file (all listeners) with one user's
//    chain changed (its metadata revision) and measures wall time until Envoy reports the LDS
//    update applied, plus the CPU Envoy burnt on it (/proc/<pid>/stat, all threads, until idle).
//    A no-op rewrite (same listeners, new version) is measured too: file parse + hashing only.
// 2. drain: three long-lived /watch requests (user-91 whose chain changes, user-165 in the same
//    shard, user-0 in another shard); which ones close after the change, and when.
// 3. mTLS: own certificate on own server name works; another user's certificate does not.
// 4. client address: what the HTTP layer saw (x-forwarded-for, XFCC) for a client on 127.0.0.7.
// 5. (latency) sequential keep-alive GETs and fresh connections: sharded path vs direct listener.
import tls from 'node:tls';
import http from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { LDS_FORMAT, listeners, renderLds, serverName, writeLds } from './config.mjs';

const [, , cmd, WORK, SHARDS_, USERS_, EDGE_, DIRECT_, ADMIN_, PID_, ...flags] = process.argv;
const [SHARDS, USERS, EDGE, DIRECT, ADMIN, PID] = [SHARDS_, USERS_, EDGE_, DIRECT_, ADMIN_, PID_].map(Number);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = (o) => console.log(JSON.stringify(o));
const pki = (f) => readFileSync(`${WORK}/pki/${f}`);

// ---- Envoy process and admin ----------------------------------------------------------------
// CPU time in ns: the first field of /proc/<pid>/task/<tid>/schedstat, summed over Envoy's
// threads (finer than utime+stime in /proc/<pid>/stat, which count 10 ms ticks).
const taskNs = (tid) => +readFileSync(`/proc/${PID}/task/${tid}/schedstat`, 'utf8').split(' ')[0];
const cpu = () => ({ all: readdirSync(`/proc/${PID}/task`).reduce((sum, tid) => sum + taskNs(tid), 0), main: taskNs(PID) });
const rssMB = () => +/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${PID}/status`, 'utf8'))[1] / 1024;
const threads = () => readdirSync(`/proc/${PID}/task`).length;
function stats(filter) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: ADMIN, path: `/stats?filter=${encodeURIComponent(filter)}` }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(Object.fromEntries(b.trim().split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, isNaN(+v) ? v : +v]))));
    }).on('error', reject);
  });
}
/** Waits until Envoy burns (almost) no CPU for 300 ms; returns the CPU counters at the start of that quiet window. */
async function settle() {
  let prev = cpu();
  for (;;) {
    await sleep(300);
    const now = cpu();
    if (now.all - prev.all <= 5e6) return prev;
    prev = now;
  }
}

// ---- LDS rewrites -----------------------------------------------------------------------------
const revisions = new Map();
let version = 0;
function render() {
  return renderLds(`v${Date.now()}-${++version}`, listeners({ work: WORK, shards: SHARDS, users: USERS, revisions, edgePort: EDGE, directPort: DIRECT }));
}
/** Rewrites the LDS file (atomically: temp + rename) and measures how Envoy takes it. */
async function update(label) {
  const body = render();
  const s0 = await stats('listener_manager');
  let c0, wall0, t0;
  await settle(); // Envoy idle before the write
  writeLds(WORK, body, () => { c0 = cpu(); wall0 = Date.now(); t0 = performance.now(); });
  let s1;
  for (;;) {
    // The admin handler runs on Envoy's main thread, which also applies the update: the answer
    // comes when the main thread is free again.
    s1 = await stats('listener_manager');
    if (s1['listener_manager.lds.update_success'] + s1['listener_manager.lds.update_rejected'] > s0['listener_manager.lds.update_success'] + s0['listener_manager.lds.update_rejected'] && s1['listener_manager.total_listeners_warming'] === 0) break;
    await sleep(5);
  }
  const appliedAt = performance.now();
  const applyMs = appliedAt - t0;
  const c1 = await settle();
  const d = (k) => s1[`listener_manager.${k}`] - s0[`listener_manager.${k}`];
  const r = {
    what: 'update', label, shards: SHARDS, users: USERS, format: LDS_FORMAT, fileMB: +(body.length / 1e6).toFixed(1),
    applyMs: Math.round(applyMs),
    envoyUpdateTimeMs: s1['listener_manager.lds.update_time'] - wall0, // Envoy's own timestamp of the accepted update
    cpuMs: Math.round((c1.all - c0.all) / 1e6), mainThreadCpuMs: Math.round((c1.main - c0.main) / 1e6),
    success: d('lds.update_success'), rejected: d('lds.update_rejected'), modified: d('listener_modified'), inPlace: d('listener_in_place_updated'),
    rssMB: Math.round(rssMB()),
  };
  out(r);
  return { ...r, writtenAt: t0, appliedAt };
}

// ---- TLS + HTTP/1.1 client --------------------------------------------------------------------
function connect(port, certUser, sniUser, localAddress = '127.0.0.1', maxVersion = 'TLSv1.3') {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, localAddress, maxVersion, servername: serverName(sniUser), ca: pki('ca.crt'), cert: pki(`${certUser}.crt`), key: pki(`${certUser}.key`) });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed during handshake')));
  });
}
/** Sends one GET on a keep-alive connection and resolves with {status, body}. */
function get(s, path) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const h = buf.indexOf('\r\n\r\n');
      if (h < 0) return;
      const head = buf.subarray(0, h).toString();
      const len = +(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < h + 4 + len) return;
      done();
      resolve({ status: +head.split(' ')[1], body: buf.subarray(h + 4, h + 4 + len).toString() });
    };
    const onEnd = (e) => { done(); reject(e ?? new Error('connection closed')); };
    const done = () => { s.off('data', onData); s.off('error', onEnd); s.off('close', onEnd); };
    s.on('data', onData); s.once('error', onEnd); s.once('close', onEnd);
    s.write(`GET ${path} HTTP/1.1\r\nhost: kube\r\n\r\n`);
  });
}
async function request(port, certUser, sniUser, path, localAddress, maxVersion) {
  let s;
  try {
    s = await connect(port, certUser, sniUser, localAddress, maxVersion);
    const r = await get(s, path);
    return `HTTP ${r.status} ${r.body.trim()}`;
  } catch (e) {
    return `failed: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ');
  } finally {
    s?.destroy();
  }
}

// ---- checks -----------------------------------------------------------------------------------
async function drainCheck() {
  const watchers = [];
  for (const [user, role, ip] of [['user-91', 'changed user', '127.0.0.11'], ['user-165', 'same shard', '127.0.0.12'], ['user-0', 'other shard', '127.0.0.13']]) {
    const s = await connect(EDGE, user, user, ip);
    const w = { user, role, ticks: 0, closedAt: null, s };
    s.on('data', (d) => (w.ticks += (d.toString().match(/tick/g) ?? []).length));
    s.on('close', () => (w.closedAt = performance.now()));
    s.on('error', () => {});
    s.write('GET /watch HTTP/1.1\r\nhost: kube\r\n\r\n');
    watchers.push(w);
  }
  await sleep(1500);
  if (watchers.some((w) => w.ticks === 0 || w.closedAt)) out({ what: 'drain', error: 'a watch did not start', watchers: watchers.map(({ s, ...w }) => w) });
  revisions.set('user-91', `r${Date.now()}`);
  const u = await update('drain: user-91 revision changed, three watches open');
  await sleep(4000);
  const tEnd = performance.now();
  const t0 = u.writtenAt; // the moment the new LDS file was renamed into place
  out({
    what: 'drain', shards: SHARDS,
    watches: watchers.map((w) => ({
      user: w.user, role: w.role, closed: w.closedAt !== null,
      closedMsAfterWrite: w.closedAt && Math.round(w.closedAt - t0), closedMsAfterApplied: w.closedAt && Math.round(w.closedAt - u.appliedAt),
      openForMsAfterWrite: Math.round((w.closedAt ?? tEnd) - t0),
    })),
    note: `drain-time-s 1; the update itself took ${u.applyMs} ms`,
  });
  for (const w of watchers) w.s.destroy();
}

async function mtlsCheck() {
  const [a, b, c] = ['user-91', 'user-165', 'user-0'];
  out({
    what: 'mtls', port: EDGE, shards: SHARDS,
    ownCertOwnName: await request(EDGE, a, a, '/ping'),
    otherUserSameShardCert: await request(EDGE, b, a, '/ping'),
    otherShardUserCert: await request(EDGE, c, a, '/ping'),
    // Over TLS 1.2 the server's alert arrives inside the handshake, so its reason is checkable.
    otherUserCertTls12: await request(EDGE, b, a, '/ping', undefined, 'TLSv1.2'),
    noClientCert: await new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: EDGE, servername: serverName(a), ca: pki('ca.crt') }, () => get(s, '/ping').then((r) => resolve(`HTTP ${r.status}`), (e) => resolve(`failed: ${e.code ?? ''} ${e.message}`)));
      s.on('error', (e) => resolve(`failed: ${e.code ?? ''} ${e.message}`));
    }),
    clientAddress: { sentFrom: '127.0.0.7', upstreamSaw: await request(EDGE, a, a, '/whoami', '127.0.0.7') },
  });
  // Why the refused handshakes failed, in Envoy's words (non-zero TLS failure counters).
  out({ what: 'mtls-stats', ...Object.fromEntries(Object.entries(await stats('ssl\\.(fail|no_certificate)')).filter(([, v]) => v)) });
}

const pct = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
async function latency() {
  const paths = { direct: DIRECT, sharded: EDGE };
  const res = Object.fromEntries(Object.keys(paths).map((k) => [k, { lat: [], ticks: 0, n: 0, conn: [], connTicks: 0 }]));
  const socks = {};
  for (const [k, port] of Object.entries(paths)) { socks[k] = await connect(port, 'user-91', 'user-91'); for (let i = 0; i < 200; i++) await get(socks[k], '/ping'); } // warm-up
  for (let round = 0; round < 10; round++) {
    for (const k of round % 2 ? ['sharded', 'direct'] : ['direct', 'sharded']) {
      const c0 = cpu().all;
      for (let i = 0; i < 200; i++) {
        const t = performance.now();
        const r = await get(socks[k], '/ping');
        res[k].lat.push(performance.now() - t);
        if (r.status !== 200) throw new Error(`${k}: HTTP ${r.status}`);
      }
      res[k].ticks += cpu().all - c0;
      res[k].n += 200;
      // Fresh connections: TLS handshake (client certificate) + one request.
      const c1 = cpu().all;
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        const s = await connect(paths[k], 'user-91', 'user-91');
        await get(s, '/ping');
        res[k].conn.push(performance.now() - t);
        s.destroy();
      }
      res[k].connTicks += cpu().all - c1;
    }
  }
  for (const s of Object.values(socks)) s.destroy();
  const f = (x) => +x.toFixed(3);
  out({
    what: 'latency', shards: SHARDS,
    ...Object.fromEntries(Object.entries(res).map(([k, r]) => [k, {
      keepAliveRequests: r.n, p50ms: f(pct(r.lat, 50)), p90ms: f(pct(r.lat, 90)), p99ms: f(pct(r.lat, 99)), envoyCpuUsPerRequest: Math.round(r.ticks / 1e3 / r.n),
      newConnections: r.conn.length, connP50ms: f(pct(r.conn, 50)), connP99ms: f(pct(r.conn, 99)), envoyCpuUsPerConnection: Math.round(r.connTicks / 1e3 / r.conn.length),
    }])),
  });
}

/** Envoy heap per open connection (tcmalloc bytes allocated, admin /memory): N idle keep-alive
 *  TLS connections that each served one request, on the direct listener and on the sharded path. */
const allocated = () => new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port: ADMIN, path: '/memory' }, (res) => {
  let b = '';
  res.on('data', (d) => (b += d));
  res.on('end', () => resolve(+JSON.parse(b).allocated));
}).on('error', reject));
async function connectionMemory(n = 1000) {
  const r = { what: 'connection-memory', shards: SHARDS, connections: n };
  for (const [k, port] of [['direct', DIRECT], ['sharded', EDGE]]) {
    await sleep(2000);
    const m0 = await allocated();
    const socks = [];
    for (let i = 0; i < n; i++) { const s = await connect(port, 'user-91', 'user-91'); await get(s, '/ping'); socks.push(s); }
    await sleep(500);
    r[k] = { bytesPerConnection: Math.round(((await allocated()) - m0) / n) };
    for (const s of socks) s.destroy();
  }
  out(r);
}

if (cmd === 'drain') {
  await drainCheck();
  process.exit(0);
}
if (cmd === 'suite') {
  out({ what: 'loaded', shards: SHARDS, users: USERS, rssMB: Math.round(rssMB()), threads: threads(), listeners: (await stats('listener_manager.total_listeners_active'))['listener_manager.total_listeners_active'] });
  await update('no-op (same listeners, new version_info)');
  for (let i = 0; i < 3; i++) {
    revisions.set('user-91', `r${Date.now()}`);
    await update('one user chain changed (user-91 revision)');
  }
  await mtlsCheck();
  await drainCheck();
  if (flags.includes('latency')) { await latency(); await connectionMemory(); }
  out({ what: 'end', rssMB: Math.round(rssMB()) });
  process.exit(0);
} else {
  console.error('usage: node probe.mjs suite WORK SHARDS USERS EDGE_PORT DIRECT_PORT ADMIN_PORT ENVOY_PID [latency]');
  process.exit(2);
}
