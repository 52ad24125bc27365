/**
 * Benchmark: a cluster behind a firewall, reached through the edge and the reverse tunnel its
 * in-cluster Envoy opened, against kube-apiserver straight, in one run on one machine.
 *
 * One local stack with one tunnelled cluster. The direct side sends what the in-cluster Envoy
 * sends (bench/tunnel-bench-setup.ts), so the difference is the whole kubegate path: the edge
 * (mTLS, ext_authz, routing, the access log), the tunnel (HTTP/2 with its own TLS) and the
 * in-cluster Envoy (assertion check, credential injection, a TLS connection to the apiserver).
 *
 *   gets           small GETs, concurrency 1 and 8, from a load process, alternating sides
 *                  round by round: requests/s, p50/p99, added ms, CPU per request per process.
 *   first-request  fresh users' first request (the agent creates their ServiceAccount) against
 *                  their second (bench/first-requests.ts).
 *   watches        N watches through the tunnel, multiplexed over HTTP/2 connections to the
 *                  edge (bench/http2-watches.ts): resident memory of the edge Envoy and the
 *                  in-cluster Envoy before and after, per watch; a new ConfigMap must reach all.
 *   list           a namespace of 5,000 ConfigMaps, listed in full over and over both ways:
 *                  lists/s and MB/s.
 * Watches run before the large LIST on purpose: the LIST's megabytes stay in Envoy's heap after
 * it is done, and watches allocated into that freed memory would not show in RSS.
 *
 * Targets from the issue are printed next to the figures; a benchmark reports, it never fails
 * on them.
 *
 *   npm run bench:tunnel -- [--requests 3000] [--rounds 3] [--concurrency 1,8] [--users 20]
 *     [--watches 1000] [--watches-per-connection 100] [--watch-open-concurrency 50]
 *     [--configmaps 5000] [--configmap-bytes 1024] [--list-rounds 10] [--lists-per-round 3]
 *     [--phases gets,first-request,watches,list] [--keep-state] [--timeout-minutes 30]
 * Writes .cache/bench/tunnel-overhead.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalStack } from '../dev/stack/local-stack';
import { createLogger } from '../control-plane/log/logger';
import { APISERVER_CLUSTER } from '../control-plane/in-cluster-translator/names';
import { tunnelClusterName } from '../control-plane/translator/names';
import { compareLoad, formatComparison, requestsAt, runLoadWorker, type Comparison } from './load-run-support';
import { REPO_ROOT, envoyHeapBytes, envoyStat, machine, round, rssKiB, sleep, summarize, writeResults } from './bench-support';
import { tapLogger } from './log-tap';
import { CLUSTER, LIST_NAMESPACE, SMALL_GET_PATH, TunnelBench, WATCH_NAMESPACE } from './tunnel-bench-setup';
import { createConfigMaps } from './bulk-configmaps';
import { WatchFleet } from './http2-watches';
import { measureFirstRequests } from './first-requests';

const TARGETS = { addedP99MsAtMost: 2, listThroughputRatioAtLeast: 0.9, envoyBytesPerWatchAtMost: 20 * 1024, firstRequestMsAtMost: 300 };
const PHASES = ['gets', 'first-request', 'watches', 'list'] as const;
type Phase = (typeof PHASES)[number];

const progress = createLogger('bench.tunnel-overhead', { level: 'info' });

async function smallGets(bench: TunnelBench, opts: { requests: number; rounds: number; levels: readonly number[] }): Promise<Comparison[]> {
  const direct = bench.direct(SMALL_GET_PATH);
  const tunnel = bench.tunnel(SMALL_GET_PATH);
  progress.info('small GETs: warming up');
  await runLoadWorker(direct, { concurrency: 8, requests: 500 });
  await runLoadWorker(tunnel, { concurrency: 8, requests: 500 });
  const comparisons: Comparison[] = [];
  for (const concurrency of opts.levels) {
    const onRound = (i: number) => progress.info('small GETs', { concurrency, round: i + 1, rounds: opts.rounds });
    comparisons.push(await compareLoad(direct, tunnel, bench.pids, { concurrency, requests: requestsAt(concurrency, opts.requests), rounds: opts.rounds, onRound }));
  }
  return comparisons;
}

async function firstRequests(bench: TunnelBench, users: number, ensureTimes: Map<string, { ms: number; agentMs: number }>) {
  progress.info('first requests: creating fresh users', { users });
  const results = await measureFirstRequests(bench, { users, onProgress: (done) => progress.info('first requests', { done, of: users }) });
  const ensured = results.map((r) => ensureTimes.get(r.user)).filter((e) => e !== undefined);
  const ms = (values: number[]) => {
    const s = summarize(values);
    return { p50: round(s.p50), p99: round(s.p99), max: round(s.max) };
  };
  return {
    users,
    request: `GET ${SMALL_GET_PATH}, each on a new TLS connection`,
    firstMs: ms(results.map((r) => r.firstMs)),
    secondMs: ms(results.map((r) => r.secondMs)),
    addedByFirstMs: ms(results.map((r) => r.firstMs - r.secondMs)),
    // As the control plane logged it ("user ServiceAccount ready"): the wait for the agent, and
    // the part the agent spent on kube-apiserver calls.
    serviceAccountReadyMs: ms(ensured.map((e) => e.ms)),
    agentMs: ms(ensured.map((e) => e.agentMs)),
    notOk: results.filter((r) => r.firstStatus !== 200 || r.secondStatus !== 200).map((r) => ({ user: r.user, first: r.firstStatus, second: r.secondStatus })),
    perUser: results.map((r) => ({ ...r, firstMs: round(r.firstMs), secondMs: round(r.secondMs) })),
  };
}

/** Memory of everything on the watch path, and the connection counts that explain it. */
async function pathMemory(bench: TunnelBench) {
  const envoy = async (e: typeof bench.site.envoy) => ({ rssKiB: rssKiB(e.pid!), allocatedBytes: (await envoyHeapBytes(e)).allocated });
  return {
    edgeEnvoy: await envoy(bench.stack.envoy),
    inClusterEnvoy: await envoy(bench.site.envoy),
    kubeApiserverRssKiB: rssKiB(bench.site.cluster.pids.apiserver),
    edgeActiveRequests: await envoyStat(bench.stack.envoy, 'http.edge.downstream_rq_active'),
    edgeTunnelConnections: await envoyStat(bench.stack.envoy, `cluster.${tunnelClusterName(CLUSTER)}.upstream_cx_active`),
    inClusterActiveRequests: await envoyStat(bench.site.envoy, 'http.tunnel.downstream_rq_active'),
    inClusterApiserverConnections: await envoyStat(bench.site.envoy, `cluster.${APISERVER_CLUSTER}.upstream_cx_active`),
  };
}
type PathMemory = Awaited<ReturnType<typeof pathMemory>>;

function perWatch(before: PathMemory, after: PathMemory, count: number) {
  const per = (bytes: number) => Math.round(bytes / count);
  type EnvoyFigures = PathMemory['edgeEnvoy'];
  const envoy = (b: EnvoyFigures, a: EnvoyFigures) => ({ rssBytes: per((a.rssKiB - b.rssKiB) * 1024), allocatedBytes: per(a.allocatedBytes - b.allocatedBytes) });
  return {
    edgeEnvoy: envoy(before.edgeEnvoy, after.edgeEnvoy),
    inClusterEnvoy: envoy(before.inClusterEnvoy, after.inClusterEnvoy),
    kubeApiserver: { rssBytes: per((after.kubeApiserverRssKiB - before.kubeApiserverRssKiB) * 1024) },
  };
}

async function watches(bench: TunnelBench, opts: { count: number; perConnection: number; openConcurrency: number }) {
  // Settled: nothing of the previous phase still in flight.
  await sleep(2000);
  const before = await pathMemory(bench);
  // timeoutSeconds: the apiserver would otherwise end each watch after 30-60 min, at random.
  const watchPath = `/clusters/${CLUSTER}/api/v1/namespaces/${WATCH_NAMESPACE}/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=7200`;
  const { certPem, keyPem, caPem, servername } = bench.user;
  progress.info('watches: opening', { watches: opts.count, perConnection: opts.perConnection, openConcurrency: opts.openConcurrency });
  const t0 = performance.now();
  const fleet = await WatchFleet.open({ origin: bench.stack.edgeUrl, caPem, certPem, keyPem, servername }, watchPath, {
    count: opts.count,
    perConnection: opts.perConnection,
    openConcurrency: opts.openConcurrency,
    onProgress: (opened) => {
      if (opened % 1000 === 0 || opened === opts.count) progress.info('watches: opened', { opened, of: opts.count });
    },
  });
  try {
    const openSeconds = (performance.now() - t0) / 1000;
    const opened = fleet.opened;
    if (fleet.failure) progress.warn('watches: not every watch could be opened; measuring those that were', { failure: fleet.failure });
    if (opened === 0) throw new Error(`no watch could be opened: ${fleet.failure}`);
    // Every watch starts with an ADDED event for the ConfigMap already there: it has reached
    // kube-apiserver and back, not only the edge.
    const established = await fleet.seenByAll('seed', t0, 120_000);
    progress.info('watches: open and established', { open: fleet.open, established: established.delaysMs.length, seconds: round(openSeconds) });
    await sleep(2000);
    const after = await pathMemory(bench);

    const probe = `probe-${Date.now()}`;
    const tChange = performance.now();
    await bench.admin.create(`/api/v1/namespaces/${WATCH_NAMESPACE}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: probe } });
    const delivered = await fleet.seenByAll(probe, tChange, 60_000);
    const d = summarize(delivered.delaysMs);
    progress.info('watches: change delivered', { delivered: delivered.delaysMs.length, missing: delivered.missing, maxMs: round(d.max) });

    const stillOpen = fleet.open;
    fleet.close();
    // Envoy frees a closed stream's memory at once, the upstream connections a moment later.
    await sleep(3000);
    const closed = await pathMemory(bench);
    return {
      requested: opts.count,
      watches: opened,
      failure: fleet.failure ?? null,
      how: `one user, HTTP/2 to the edge, ${opts.perConnection} watches per connection (${fleet.connections} connections)`,
      openSeconds: round(openSeconds),
      established: established.delaysMs.length,
      change: { delivered: delivered.delaysMs.length, missing: delivered.missing, ms: { p50: round(d.p50), p99: round(d.p99), max: round(d.max) } },
      errorEvents: fleet.errorEvents,
      closedEarly: opened - stillOpen,
      memory: { before, after, afterClose: closed },
      perWatch: perWatch(before, after, opened),
    };
  } finally {
    fleet.close();
  }
}

async function largeList(bench: TunnelBench, opts: { configMaps: number; bytesEach: number; rounds: number; perRound: number }) {
  progress.info('large LIST: creating ConfigMaps', { configMaps: opts.configMaps, namespace: LIST_NAMESPACE, bytesEach: opts.bytesEach });
  const t0 = performance.now();
  await createConfigMaps(bench.admin, {
    namespace: LIST_NAMESPACE,
    count: opts.configMaps,
    bytesEach: opts.bytesEach,
    onProgress: (created) => progress.info('large LIST: created', { created, of: opts.configMaps }),
  });
  const createSeconds = (performance.now() - t0) / 1000;
  const apiPath = `/api/v1/namespaces/${LIST_NAMESPACE}/configmaps`;
  const direct = bench.direct(apiPath);
  const tunnel = bench.tunnel(apiPath);
  // Both sides see the whole list (this also warms both paths). The controller manager adds
  // its kube-root-ca.crt ConfigMap to every namespace, hence "at least".
  const bodies = [await bench.check(direct), await bench.check(tunnel)];
  const items = bodies.map((b) => (JSON.parse(b) as { items: unknown[] }).items.length);
  if (items[0] !== items[1] || items[0]! < opts.configMaps) throw new Error(`the LIST returned ${items.join(' and ')} items, not the same number of at least ${opts.configMaps}`);
  const listBytes = Buffer.byteLength(bodies[0]!);
  const onRound = (i: number) => progress.info('large LIST', { round: i + 1, rounds: opts.rounds });
  const c = await compareLoad(direct, tunnel, bench.pids, { concurrency: 1, requests: opts.perRound, rounds: opts.rounds, onRound });
  const mbPerSecond = (listsPerSecond: number) => round((listsPerSecond * listBytes) / 1e6, 2);
  return {
    configMaps: opts.configMaps,
    bytesEach: opts.bytesEach,
    items: items[0]!,
    listBytes,
    createSeconds: round(createSeconds),
    request: `GET ${apiPath} (one response, no limit; JSON, no compression)`,
    comparison: c,
    mbPerSecond: { direct: mbPerSecond(c.baseline.requestsPerSecond), tunnel: mbPerSecond(c.subject.requestsPerSecond) },
    throughputRatio: c.ratios.throughput,
  };
}

function parseFlags() {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '3000' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '1,8' },
      users: { type: 'string', default: '20' },
      watches: { type: 'string', default: '1000' },
      'watches-per-connection': { type: 'string', default: '100' },
      'watch-open-concurrency': { type: 'string', default: '50' },
      configmaps: { type: 'string', default: '5000' },
      'configmap-bytes': { type: 'string', default: '1024' },
      'list-rounds': { type: 'string', default: '10' },
      'lists-per-round': { type: 'string', default: '3' },
      phases: { type: 'string', default: PHASES.join(',') },
      'keep-state': { type: 'boolean', default: false },
      'timeout-minutes': { type: 'string', default: '30' },
    },
  });
  const positive = (name: keyof typeof values) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, got ${values[name]}`);
    return n;
  };
  // Envoy's default limit of concurrent streams on one HTTP/2 connection, which the edge keeps:
  // a client must spread more watches over more connections (Go's HTTP/2 client does).
  if (Number(values['watches-per-connection']) > 1024) throw new Error('--watches-per-connection: the edge allows at most 1024 concurrent streams on one HTTP/2 connection');
  const levels = values.concurrency!.split(',').map(Number);
  if (levels.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--concurrency must be a list of positive whole numbers');
  const phases = values.phases!.split(',') as Phase[];
  const unknown = phases.filter((p) => !PHASES.includes(p));
  if (unknown.length) throw new Error(`unknown phase(s) ${unknown.join(', ')}; phases are ${PHASES.join(', ')}`);
  return {
    requests: positive('requests'),
    rounds: positive('rounds'),
    levels,
    users: positive('users'),
    watches: positive('watches'),
    perConnection: positive('watches-per-connection'),
    openConcurrency: positive('watch-open-concurrency'),
    configMaps: positive('configmaps'),
    bytesEach: positive('configmap-bytes'),
    listRounds: positive('list-rounds'),
    listsPerRound: positive('lists-per-round'),
    phases: new Set(phases),
    keepState: values['keep-state']!,
    timeoutMinutes: positive('timeout-minutes'),
  };
}

type Report = {
  smallGets?: Comparison[];
  firstRequest?: Awaited<ReturnType<typeof firstRequests>>;
  watches?: Awaited<ReturnType<typeof watches>>;
  list?: Awaited<ReturnType<typeof largeList>>;
};

function formatReport(r: Report, m: { start: ReturnType<typeof machine>; end: ReturnType<typeof machine> }): string {
  const out: string[] = ['tunnel-overhead: kube-apiserver direct vs the edge + reverse tunnel + in-cluster Envoy, measured in the same run'];
  const verdict = (ok: boolean) => (ok ? 'meets' : 'misses');
  const targets: string[] = [];
  if (r.smallGets) {
    out.push('', `1. small GETs (GET ${SMALL_GET_PATH}; direct = what the in-cluster Envoy sends the apiserver)     target: added p99 <= ${TARGETS.addedP99MsAtMost} ms`);
    for (const c of r.smallGets) {
      out.push(`concurrency ${c.concurrency} (${c.requestsPerRound} requests × ${c.baseline.rounds} rounds per side)`, ...formatComparison(c, 7));
      targets.push(`small GETs, concurrency ${c.concurrency}: added p99 ${c.addedMs.p99.toFixed(2)} ms (target <= ${TARGETS.addedP99MsAtMost} ms): ${verdict(c.addedMs.p99 <= TARGETS.addedP99MsAtMost)}`);
    }
  }
  if (r.list) {
    const l = r.list;
    out.push('', `2. large LIST: ${l.items} ConfigMaps (${l.configMaps} of ${l.bytesEach} B), ${(l.listBytes / 1e6).toFixed(2)} MB of JSON per list (created in ${l.createSeconds} s)     target: >= ${TARGETS.listThroughputRatioAtLeast}x direct throughput`);
    out.push(...formatComparison(l.comparison, 7).map((line) => line.replace('req/s', 'lists/s')));
    out.push(`  MB/s    direct ${l.mbPerSecond.direct}  tunnel ${l.mbPerSecond.tunnel}`);
    targets.push(`large LIST: ${l.throughputRatio.toFixed(3)}x direct throughput (target >= ${TARGETS.listThroughputRatioAtLeast}x): ${verdict(l.throughputRatio >= TARGETS.listThroughputRatioAtLeast)}`);
  }
  if (r.watches) {
    const w = r.watches;
    const mem = w.memory;
    const kib = (b: number) => (b / 1024).toFixed(1);
    const line = (name: string, before: { rssKiB: number; allocatedBytes: number }, after: { rssKiB: number; allocatedBytes: number }, closed: { rssKiB: number }, per: { rssBytes: number; allocatedBytes: number }) =>
      `  ${name.padEnd(17)} RSS ${(before.rssKiB / 1024).toFixed(1)} → ${(after.rssKiB / 1024).toFixed(1)} MiB = ${kib(per.rssBytes)} KiB/watch   heap in use ${kib(per.allocatedBytes)} KiB/watch   (RSS after closing them: ${(closed.rssKiB / 1024).toFixed(1)} MiB)`;
    out.push('', `3. ${w.watches} watches through the tunnel: ${w.how}     target: <= ${TARGETS.envoyBytesPerWatchAtMost / 1024} KiB per watch per Envoy`);
    if (w.failure) out.push(`  ${w.requested} were asked for: ${w.failure}`);
    out.push(line('edge Envoy', mem.before.edgeEnvoy, mem.after.edgeEnvoy, mem.afterClose.edgeEnvoy, w.perWatch.edgeEnvoy));
    out.push(line('in-cluster Envoy', mem.before.inClusterEnvoy, mem.after.inClusterEnvoy, mem.afterClose.inClusterEnvoy, w.perWatch.inClusterEnvoy));
    out.push(`  ${'kube-apiserver'.padEnd(17)} RSS ${(mem.before.kubeApiserverRssKiB / 1024).toFixed(1)} → ${(mem.after.kubeApiserverRssKiB / 1024).toFixed(1)} MiB = ${kib(w.perWatch.kubeApiserver.rssBytes)} KiB/watch`);
    out.push(
      `  with the watches open: edge ${mem.after.edgeActiveRequests ?? '-'} active requests on ${mem.after.edgeTunnelConnections ?? '-'} tunnel connection(s); ` +
        `in-cluster Envoy ${mem.after.inClusterActiveRequests ?? '-'} active requests on ${mem.after.inClusterApiserverConnections ?? '-'} HTTP/2 connections to kube-apiserver`,
    );
    out.push(
      `  opened in ${w.openSeconds} s, ${w.established} established (initial event received); a new ConfigMap reached ${w.change.delivered}/${w.watches - w.closedEarly} watches ` +
        `(p50 ${w.change.ms.p50} ms, p99 ${w.change.ms.p99} ms, max ${w.change.ms.max} ms), missing ${w.change.missing}; watch ERROR events ${w.errorEvents}, closed early ${w.closedEarly}`,
    );
    for (const [name, per] of [['edge Envoy', w.perWatch.edgeEnvoy], ['in-cluster Envoy', w.perWatch.inClusterEnvoy]] as const) {
      targets.push(`${name}: ${kib(per.rssBytes)} KiB RSS per watch (target <= ${TARGETS.envoyBytesPerWatchAtMost / 1024} KiB): ${verdict(per.rssBytes <= TARGETS.envoyBytesPerWatchAtMost)}`);
    }
  }
  if (r.firstRequest) {
    const f = r.firstRequest;
    const ms = (s: { p50: number; p99: number; max: number }) => `p50 ${s.p50} ms  p99 ${s.p99} ms  max ${s.max} ms`;
    out.push('', `4. first request of ${f.users} fresh users (${f.request}); the agent creates each one's ServiceAccount     target: <= ${TARGETS.firstRequestMsAtMost} ms`);
    out.push(`  first request    ${ms(f.firstMs)}`, `  second request   ${ms(f.secondMs)}`, `  first − second   ${ms(f.addedByFirstMs)}`);
    out.push(`  control plane waited for the ServiceAccount ${ms(f.serviceAccountReadyMs)}; the agent's part ${ms(f.agentMs)}`);
    if (f.notOk.length) out.push(`  not 200: ${f.notOk.map((n) => `${n.user} ${n.first}/${n.second}`).join(', ')}`);
    targets.push(`first request: p99 ${f.firstMs.p99} ms, max ${f.firstMs.max} ms (target <= ${TARGETS.firstRequestMsAtMost} ms): ${verdict(f.firstMs.max <= TARGETS.firstRequestMsAtMost)} at max, ${verdict(f.firstMs.p99 <= TARGETS.firstRequestMsAtMost)} at p99`);
  }
  out.push('', 'against the targets (reported, never enforced):', ...targets.map((t) => `  ${t}`));
  out.push(`machine: ${m.start.cpus} cpus (${m.start.model}), load average at start ${m.start.loadAverage.join(' ')}, at end ${m.end.loadAverage.join(' ')}; everything (the cluster, both Envoys, the control plane, the agent, the load generator) shares it`);
  return out.join('\n') + '\n';
}

async function main(): Promise<void> {
  const flags = parseFlags();
  const machineAtStart = machine();
  // The agent reports how long creating a ServiceAccount took only in a log line; tap it
  // instead of turning the stack's log level up for the whole run.
  const ensureTimes = new Map<string, { ms: number; agentMs: number }>();
  const logger = tapLogger(createLogger('bench', { level: 'warn' }), (_level, msg, fields) => {
    if (msg === 'user ServiceAccount ready' && fields) ensureTimes.set(String(fields.user), { ms: Number(fields.ms), agentMs: Number(fields.agentMs) });
  });
  // Exiting kills every child process (dev/process/managed-process.ts), so an
  // interrupted or overlong run leaves nothing behind, even when `finally` does not get to run.
  process.once('SIGINT', () => {
    progress.warn('interrupted: stopping every process');
    process.exit(130);
  });
  const watchdog = setTimeout(() => {
    progress.error('the run took longer than --timeout-minutes: stopping every process', { minutes: flags.timeoutMinutes });
    process.exit(2);
  }, flags.timeoutMinutes * 60_000);
  watchdog.unref();

  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-bench-tunnel-'));
  progress.info('starting the local stack with one tunnelled cluster', { stateDir, cluster: CLUSTER, loadAverage: machineAtStart.loadAverage });
  // On loopback, not in a firewalled network namespace: the direct baseline must reach the
  // cluster's kube-apiserver, and both sides should cross the same kind of network.
  const stack = await startLocalStack({ stateDir, clusters: [], tunnelClusters: [CLUSTER], tunnelIsolation: 'none', logger });
  let bench: TunnelBench | undefined;
  try {
    bench = await TunnelBench.prepare(stack);
    const r: Report = {};
    if (flags.phases.has('gets')) r.smallGets = await smallGets(bench, flags);
    if (flags.phases.has('first-request')) r.firstRequest = await firstRequests(bench, flags.users, ensureTimes);
    if (flags.phases.has('watches')) r.watches = await watches(bench, { count: flags.watches, perConnection: flags.perConnection, openConcurrency: flags.openConcurrency });
    if (flags.phases.has('list')) r.list = await largeList(bench, { configMaps: flags.configMaps, bytesEach: flags.bytesEach, rounds: flags.listRounds, perRound: flags.listsPerRound });

    const machineAtEnd = machine();
    process.stdout.write(formatReport(r, { start: machineAtStart, end: machineAtEnd }));
    const file = writeResults(
      'tunnel-overhead',
      {
        benchmark: 'tunnel-overhead',
        when: new Date().toISOString(),
        machine: { ...machineAtStart, loadAverageAtEnd: machineAtEnd.loadAverage },
        flags: { ...flags, phases: [...flags.phases] },
        targets: TARGETS,
        ...r,
      },
      path.join(REPO_ROOT, '.cache', 'bench'),
    );
    progress.info('results written', { file });
  } finally {
    bench?.close();
    await stack.stop();
    if (flags.keepState) progress.info('state kept', { stateDir });
    else fs.rmSync(stateDir, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
}

main().catch((err) => {
  progress.error('benchmark failed', { error: (err as Error).stack ?? (err as Error).message });
  process.exitCode = 1;
});
