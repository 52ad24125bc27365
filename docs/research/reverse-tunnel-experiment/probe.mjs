// Helpers for run.sh: a stand-in upstream, clients for each traffic type, a recording TCP relay
// and YAML variants. Loopback only. Each command prints one JSON line (servers print to stderr).
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

const HOST = '127.0.0.1';
const [cmd, ...args] = process.argv.slice(2);
const out = (o) => console.log(JSON.stringify(o));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const wsAccept = (key) => crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

/** Stand-in for kube-apiserver: GET, a chunked stream, and HTTP/1.1 upgrades that echo. */
function upstream(port, name) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/stream') {
      const seconds = Number(url.searchParams.get('seconds') ?? 5);
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`${name} tick ${++n}\n`);
        if (n >= seconds) { clearInterval(timer); res.end(); }
      }, 1000);
      req.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ upstream: name, path: req.url }));
  });
  server.on('upgrade', (req, socket, head) => {
    const type = req.headers.upgrade ?? '';
    const lines = ['HTTP/1.1 101 Switching Protocols', `Upgrade: ${type}`, 'Connection: Upgrade', `X-Upstream: ${name}`, `X-Upgrade-Seen: ${type}`];
    // Answer the sub-protocol negotiation as kube-apiserver does, so the client can check that
    // the headers kubectl relies on survive the H1 -> H2 extended CONNECT -> H1 round trip.
    if (type.toLowerCase() === 'websocket') {
      lines.push(`Sec-WebSocket-Accept: ${wsAccept(req.headers['sec-websocket-key'])}`);
      if (req.headers['sec-websocket-protocol']) lines.push(`Sec-WebSocket-Protocol: ${req.headers['sec-websocket-protocol'].split(',')[0].trim()}`);
    } else if (req.headers['x-stream-protocol-version']) {
      lines.push(`X-Stream-Protocol-Version: ${req.headers['x-stream-protocol-version'].split(',')[0].trim()}`);
    }
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head?.length) socket.write(head);
    socket.on('data', (d) => socket.write(Buffer.concat([Buffer.from(`${name} echo:`), d])));
    socket.on('error', () => {});
  });
  server.listen(port, HOST, () => console.error(`upstream ${name} on ${HOST}:${port}`));
}

function get(url, headers = {}) {
  return new Promise((resolve) => {
    const req = http.get(url, { headers, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body: body.slice(0, 200) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
  });
}

/** Opens one upgraded stream; resolves with a handle once the 101 arrived. */
function openUpgrade(port, path, type) {
  return new Promise((resolve) => {
    // The headers kubectl sends for exec/attach/port-forward (WebSocket: v5.channel.k8s.io;
    // SPDY: X-Stream-Protocol-Version).
    const headers = { Connection: 'Upgrade', Upgrade: type };
    if (type === 'websocket') {
      headers['Sec-WebSocket-Key'] = crypto.randomBytes(16).toString('base64');
      headers['Sec-WebSocket-Version'] = '13';
      headers['Sec-WebSocket-Protocol'] = 'v5.channel.k8s.io, v4.channel.k8s.io';
    } else {
      headers['X-Stream-Protocol-Version'] = 'v4.channel.k8s.io';
    }
    const req = http.request({ host: HOST, port, path, headers });
    const timer = setTimeout(() => { req.destroy(); resolve({ ok: false, why: 'timeout waiting for 101' }); }, 5000);
    req.on('response', (res) => {
      clearTimeout(timer);
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ ok: false, why: `status ${res.statusCode}: ${body.slice(0, 120)}` }));
    });
    req.on('error', (e) => { clearTimeout(timer); resolve({ ok: false, why: e.message }); });
    req.on('upgrade', (res, socket) => {
      clearTimeout(timer);
      const negotiated = type === 'websocket'
        ? res.headers['sec-websocket-accept'] === wsAccept(headers['Sec-WebSocket-Key']) && res.headers['sec-websocket-protocol'] === 'v5.channel.k8s.io'
        : res.headers['x-stream-protocol-version'] === 'v4.channel.k8s.io';
      resolve({ ok: true, socket, negotiated, upgradeSeen: res.headers['x-upgrade-seen'], upstream: res.headers['x-upstream'] });
    });
    req.end();
  });
}

function echo(socket, msg) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), 5000);
    socket.once('data', (d) => { clearTimeout(timer); resolve(d.toString()); });
    socket.write(msg);
  });
}

async function statsOf(adminPort, cluster) {
  const r = await get(`http://${HOST}:${adminPort}/stats?filter=${encodeURIComponent(`^cluster\\.${cluster}\\.upstream_(cx|rq)_active$`)}`);
  return Object.fromEntries(r.body.trim().split('\n').filter(Boolean).map((l) => l.split(': ')).map(([k, v]) => [k.split('.').pop(), Number(v)]));
}

/** N WebSocket + M SPDY/3.1 streams, all held open at once, then each echoes. */
async function upgrades(port, path, ws, spdy, adminPort, cluster) {
  const types = [...Array(Number(ws)).fill('websocket'), ...Array(Number(spdy)).fill('SPDY/3.1')];
  const opened = await Promise.all(types.map((t) => openUpgrade(Number(port), path, t)));
  const stats = adminPort ? await statsOf(adminPort, cluster) : undefined;
  const results = await Promise.all(opened.map(async (o, i) => {
    if (!o.ok) return { type: types[i], ok: false, why: o.why };
    const msg = `msg-${i}-${crypto.randomBytes(4).toString('hex')}`;
    const got = await echo(o.socket, msg);
    o.socket.destroy();
    return { type: types[i], ok: o.negotiated && got === `${o.upstream} echo:${msg}`, negotiated: o.negotiated, upgradeSeenUpstream: o.upgradeSeen, upstream: o.upstream };
  }));
  out({ opened: types.length, ok: results.filter((r) => r.ok).length, whileOpen: stats, failures: results.filter((r) => !r.ok), sample: results[0], sampleSpdy: results.find((r) => r.type !== 'websocket') });
}

/** A chunked response over `seconds`: when did the first and last chunks arrive? */
function stream(url) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const arrivals = [];
    http.get(url, (res) => {
      res.on('data', (d) => { for (const line of d.toString().split('\n').filter(Boolean)) arrivals.push({ line, at: Date.now() - t0 }); });
      res.on('end', () => resolve({ status: res.statusCode, chunks: arrivals.length, firstMs: arrivals[0]?.at, lastMs: arrivals.at(-1)?.at, last: arrivals.at(-1)?.line }));
    }).on('error', (e) => resolve({ status: 0, error: e.message }));
  });
}

/** Polls until a 200 or the deadline; reports how long it took and what came back meanwhile. */
async function wait200(url, timeoutMs, intervalMs = 100) {
  const t0 = Date.now();
  const seen = {};
  while (Date.now() - t0 < Number(timeoutMs)) {
    const r = await get(url);
    seen[r.status] = (seen[r.status] ?? 0) + 1;
    if (r.status === 200) return { ok: true, ms: Date.now() - t0, at: Date.now(), seen, body: r.body };
    await sleep(Number(intervalMs));
  }
  return { ok: false, ms: Date.now() - t0, seen };
}

/** Opens a WebSocket and appends to `file` one JSON line when it is upgraded and one when it ends. */
async function watchWs(port, path, file) {
  const o = await openUpgrade(Number(port), path, 'websocket');
  if (!o.ok) { fs.appendFileSync(file, `${JSON.stringify({ open: false, why: o.why })}\n`); return; }
  fs.appendFileSync(file, `${JSON.stringify({ open: true })}\n`);
  o.socket.on('error', () => {});
  o.socket.on('close', () => { fs.appendFileSync(file, `${JSON.stringify({ open: false, closedAt: Date.now() })}\n`); process.exit(0); });
  setInterval(() => o.socket.write('ping'), 500);
  setTimeout(() => process.exit(0), 120000);
}

/** TCP relay that records every byte crossing it (to check whether the tunnel is encrypted). */
function relay(listenPort, targetPort, dumpFile) {
  const dump = fs.createWriteStream(dumpFile);
  net.createServer((c) => {
    const u = net.connect(Number(targetPort), HOST);
    c.on('data', (d) => { dump.write(d); u.write(d); });
    u.on('data', (d) => { dump.write(d); c.write(d); });
    const end = () => { c.destroy(); u.destroy(); };
    for (const s of [c, u]) { s.on('close', end); s.on('error', end); }
  }).listen(Number(listenPort), HOST, () => console.error(`relay ${listenPort} -> ${targetPort}`));
}

function wirecheck(dumpFile, markers) {
  const data = fs.readFileSync(dumpFile);
  out({ bytes: data.length, plaintextHits: Object.fromEntries(markers.map((m) => [m, data.toString('latin1').split(m).length - 1])) });
}

/** YAML variants of the experiment's configs, for the negative checks. */
function variant(inFile, outFile, name) {
  const require = createRequire(new URL('../../../package.json', import.meta.url));
  const YAML = require('yaml');
  const doc = YAML.parse(fs.readFileSync(inFile, 'utf8'));
  const sr = doc.static_resources;
  if (name === 'edge-naive') {
    // What the upstream example does: no tenant isolation, no identity check, no data-path TLS.
    delete doc.bootstrap_extensions[0].typed_config.enable_tenant_isolation;
    delete sr.listeners[0].filter_chains[0].filters[0].typed_config.validation;
    for (const c of sr.clusters) { delete c.transport_socket; delete c.cluster_type.typed_config.tenant_id_format; }
  } else if (name === 'edge-plaintext-data') {
    for (const c of sr.clusters) delete c.transport_socket;
  } else if (name === 'agent-naive' || name === 'agent-plaintext-data') {
    delete sr.listeners[0].filter_chains[0].transport_socket;
  } else if (name === 'xds') {
    // Same resources, delivered over LDS/CDS from files (the same APIs ADS serves) instead of
    // static_resources. The files live in a directory of their own: Envoy watches it.
    const dir = `${outFile}.xds`;
    fs.mkdirSync(dir, { recursive: true });
    const wrap = (type, resources) => ({ version_info: '1', resources: resources.map((r) => ({ '@type': `type.googleapis.com/${type}`, ...r })) });
    fs.writeFileSync(`${dir}/lds.yaml`, YAML.stringify(wrap('envoy.config.listener.v3.Listener', sr.listeners ?? [])));
    fs.writeFileSync(`${dir}/cds.yaml`, YAML.stringify(wrap('envoy.config.cluster.v3.Cluster', sr.clusters ?? [])));
    delete doc.static_resources;
    doc.dynamic_resources = {
      lds_config: { path_config_source: { path: `${dir}/lds.yaml` } },
      cds_config: { path_config_source: { path: `${dir}/cds.yaml` } },
    };
  } else {
    throw new Error(`unknown variant ${name}`);
  }
  fs.writeFileSync(outFile, YAML.stringify(doc));
}

switch (cmd) {
  case 'upstream': upstream(Number(args[0]), args[1]); break;
  case 'get': out(await get(args[0], args[1] ? JSON.parse(args[1]) : {})); break;
  case 'stream': out(await stream(args[0])); break;
  case 'upgrades': await upgrades(...args); break;
  case 'wait200': out(await wait200(...args)); break;
  case 'watch-ws': await watchWs(...args); break;
  case 'relay': relay(...args); break;
  case 'wirecheck': wirecheck(args[0], args.slice(1)); break;
  case 'variant': variant(...args); break;
  default: console.error(`unknown command ${cmd}`); process.exit(2);
}
