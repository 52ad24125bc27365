/**
 * Benchmark: what the per-request authorization check costs, at the scale it is meant for
 * (10,000 users, 1,000 policy rules), in one run:
 *
 *   setup  10k users, each holding an unexpired certificate (so each has a filter chain of their
 *          own at the edge, as users who fetched a kubeconfig today do), and 200
 *          AccessPolicies × 5 rules.
 *          Reported: how long the control plane takes to publish that, how long until Envoy
 *          ACKs the listener, and Envoy's and the control plane's memory before and after.
 *   (a)    decisions per second of the real ext_authz Check service, called over its mTLS
 *          HTTP/2 port as Envoy calls it, with real CheckRequests (users' certificates, server
 *          names, kubectl-like methods and paths) from many distinct users, for mixes of
 *          decision-cache hits and misses; and the control plane's CPU per decision. The
 *          control plane runs in this process, the load in a worker process. The same
 *          requests are also decided in-process without the transport, to show where the time
 *          of a decision goes (deciding, protobuf, HTTP/2 + TLS), and sent to the same service
 *          with an authorizer that answers at once: the transport's floor.
 *   (b)    the latency the check adds to a request: the same GETs through the edge and through
 *          a second edge Envoy whose configuration is the first one's minus the ext_authz filter
 *          (it adds the same Impersonate-* headers itself), alternating round by round.
 *
 * Measures, never passes or fails. Targets from the issue: ≥ 20k decisions/s on one core,
 * ≤ 0.5 ms added at p99.
 *
 *   npm run bench:authz -- [--users 10000] [--certified <users>] [--check-users 500] [--check-seconds 5]
 *     [--check-concurrency 1,16] [--check-connections 2] [--miss-fractions 0,0.1,1]
 *     [--in-process-decisions 100000] [--requests 3000] [--rounds 3] [--concurrency 1,8]
 * Writes bench/results/authz-overhead.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startLocalStack, EDGE_NODE_ID } from '../dev/stack/local-stack';
import { createLogger } from '../control-plane/log/logger';
import { userServerName, userUri } from '../control-plane/identity/user-identity';
import { EnvoyProcess } from '../dev/process/envoy-process';
import { edgeBootstrap, AUTHZ_CLUSTER, CONTROL_PLANE_SERVER_NAME } from '../control-plane/envoy/bootstrap';
import { getFreePorts } from '../dev/process/free-port';
import { Snapshot } from '../control-plane/xds/snapshot';
import { getOnce, type LoadTarget } from './load';
import { cpuSeconds } from './process-cpu';
import { compareLoad, formatComparison, requestsAt, runLoadWorker, type Comparison } from './load-run-support';
import { BenchUserCertificates, bulkCreateUsers, bulkRecordCertificates, unpresentedCertificate, type CertificateRecordInput, envoyMemory, envoyStat, machine, round, rssMiB, signedBy, waitFor, waitForAck, writeResults } from './bench-support';
import { BENCH_CLUSTER, BENCH_CLUSTER_LABELS, GROUPS, RULES_PER_POLICY, policyFiles, userGroups, userName, withoutAuthzCheck } from './authz-support';
import { CheckRequestSource, type CheckLoadInput, type CheckLoadResult, type CheckUser } from './check-load-support';
import { PolicyAuthorizer } from '../control-plane/authz/policy-authorizer';
import { startCheckServer } from '../control-plane/authz/check-server';
import type { Decision } from '../control-plane/authz/decision';
import { DecisionCache } from '../control-plane/policy-engine/decision-cache';
import { toAuthzRequest } from '../control-plane/authz/check-response';
import { encodeCheckResponseFrame } from '../control-plane/authz/check-response-encoder';
import type { ControlPlane } from '../control-plane/server/control-plane';

const NO_CHECK_NODE_ID = 'edge-nocheck';
/** What the transport-floor server answers every call with: no work, a fixed refusal. */
const TRANSPORT_FLOOR_DECISION: Decision = { allowed: false, httpStatus: 403, message: 'kubegate: transport floor', reason: 'transport floor' };
/** user-7 is in team-7 and team-52; team-7's policy allows reading ConfigMaps in ns-7. */
const BENCH_USER_INDEX = 7;
const BENCH_NAMESPACE = 'ns-7';
const BENCH_CONFIGMAP = 'bench-config';

function runCheckWorker(input: CheckLoadInput): Promise<CheckLoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'check-load-support.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as CheckLoadResult) : reject(new Error(`check load worker exited with ${code}`))));
    child.stdin.end(JSON.stringify(input));
  });
}

/**
 * Decisions per CPU-second of a PolicyAuthorizer like the control plane's (a decision cache of
 * its own, the control plane's access state), over `count` requests from `make(missFraction)`:
 * deciding alone, and decoding the CheckRequest + deciding + encoding the CheckResponse. Each
 * authorizer's cache is first warmed with the repeating pool, as the service's warm-up does.
 */
function inProcessRates(cp: ControlPlane, make: (missFraction: number) => CheckRequestSource, missFraction: number, count: number) {
  const source = make(missFraction);
  const decode = (b: Buffer) => toAuthzRequest(source.requestType.decode(b.subarray(5)) as unknown as Parameters<typeof toAuthzRequest>[0]);
  const bodies = Array.from({ length: count }, () => source.next());
  const requests = bodies.map(decode);
  const warmed = () => {
    const authorizer = new PolicyAuthorizer({ view: () => cp.access, cache: new DecisionCache() });
    const pool = make(0);
    for (let i = 0; i < 20_000; i++) authorizer.decide(decode(pool.next()));
    return authorizer;
  };
  const perCpuSecond = (f: () => void) => {
    const before = process.cpuUsage();
    f();
    const cpu = process.cpuUsage(before);
    return Math.round(count / ((cpu.user + cpu.system) / 1e6));
  };
  let allowed = 0;
  const decideOnly = warmed();
  const decideOnlyPerCpuSecond = perCpuSecond(() => {
    for (const r of requests) if (decideOnly.decide(r).allowed) allowed++;
  });
  const full = warmed();
  const withProtobufPerCpuSecond = perCpuSecond(() => {
    for (const b of bodies) {
      const request = decode(b);
      // As the check server answers: the CheckResponse written straight to a gRPC frame.
      encodeCheckResponseFrame(full.decide(request), request);
    }
  });
  return { decisions: count, allowedPercent: round((allowed / count) * 100), decideOnlyPerCpuSecond, withProtobufPerCpuSecond };
}

const log = (line: string) => process.stderr.write(line + '\n');
const numbers = (s: string, what: string) => {
  const list = s.split(',').map(Number);
  if (list.some((n) => !(n >= 0) || !Number.isFinite(n))) throw new Error(`${what} must be a list of non-negative numbers, got "${s}"`);
  return list;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '10000' },
      // Users holding a certificate, hence a filter chain at the edge (default: all of them).
      certified: { type: 'string' },
      'check-users': { type: 'string', default: '500' },
      'check-seconds': { type: 'string', default: '5' },
      'check-concurrency': { type: 'string', default: '1,16' },
      'check-connections': { type: 'string', default: '2' },
      'miss-fractions': { type: 'string', default: '0,0.1,1' },
      'in-process-decisions': { type: 'string', default: '100000' },
      requests: { type: 'string', default: '3000' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '1,8' },
    },
  });
  const users = Number(values.users);
  const checkUsers = Math.min(Number(values['check-users']), users);
  const certified = values.certified === undefined ? users : Number(values.certified);
  if (!(certified >= 0 && certified <= users) || !Number.isInteger(certified)) throw new Error(`--certified must be a whole number from 0 to --users (${users}), got "${values.certified}"`);
  const checkSeconds = Number(values['check-seconds']);
  const checkLevels = numbers(values['check-concurrency']!, '--check-concurrency');
  const checkConnections = Number(values['check-connections']);
  const missFractions = numbers(values['miss-fractions']!, '--miss-fractions');
  const inProcessDecisions = Number(values['in-process-decisions']);
  const requests = Number(values.requests);
  const rounds = Number(values.rounds);
  const levels = numbers(values.concurrency!, '--concurrency');
  if (!(users > BENCH_USER_INDEX) || !(checkUsers > 0) || !(checkSeconds > 0) || !(inProcessDecisions > 0) || !(requests > 0) || !(rounds > 0) || !(checkConnections > 0)) {
    throw new Error(`--users (more than ${BENCH_USER_INDEX}), --check-users, --check-seconds, --check-connections, --requests and --rounds must be positive numbers`);
  }
  if (missFractions.some((f) => f > 1) || checkLevels.some((c) => !(c >= 1)) || levels.some((c) => !(c >= 1))) {
    throw new Error('--miss-fractions are fractions from 0 to 1; concurrency levels are at least 1');
  }

  const logger = createLogger('bench', { level: 'warn' });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-bench-authz-'));
  const machineAtStart = machine();
  log(`starting the local stack in ${stateDir}... (load average ${machineAtStart.loadAverage.join(' ')})`);
  const stack = await startLocalStack({ stateDir, clusters: [{ name: BENCH_CLUSTER, labels: BENCH_CLUSTER_LABELS }], logger });
  let noCheckEnvoy: EnvoyProcess | undefined;
  try {
    const cp = stack.controlPlane;
    const cluster = stack.clusters[0]!;
    const benchUser = userName(BENCH_USER_INDEX);

    // Inside the cluster: the object the GETs read, and RBAC for the bench user's teams (the
    // cluster authorizes the impersonated user too; kubegate's policies do not bind roles, and
    // the aggregated view role is empty without kube-controller-manager).
    const rbac = `apiVersion: v1
kind: Namespace
metadata: {name: ${BENCH_NAMESPACE}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ${BENCH_CONFIGMAP}, namespace: ${BENCH_NAMESPACE}}
data: {greeting: hello}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: bench-reader}
rules:
  - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bench-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: bench-reader}
subjects:
${userGroups(BENCH_USER_INDEX).map((g) => `  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: ${g}}`).join('\n')}
`;
    const applied = await cluster.kubectl(['apply', '-f', '-'], rbac);
    if (applied.code !== 0) throw new Error(`could not prepare the cluster: ${applied.stderr.trim()}`);

    // ---- setup at scale -----------------------------------------------------------------
    const memoryBefore = { envoy: await envoyMemory(stack.envoy), controlPlaneRssMiB: rssMiB(process.pid) };
    const files = policyFiles();
    let t = performance.now();
    await stack.applyPolicies([...(await stack.store.getPolicySet()).files, ...files], 'bench');
    const policyApplyMs = performance.now() - t;
    const ruleCount = GROUPS * RULES_PER_POLICY;
    log(`applied ${GROUPS} AccessPolicies with ${ruleCount} rules in ${files.length} files (${policyApplyMs.toFixed(0)} ms)`);

    t = performance.now();
    await bulkCreateUsers(path.join(stateDir, 'kubegate.db'), Array.from({ length: users }, (_, i) => ({ name: userName(i), groups: userGroups(i) })));
    const userInsertMs = performance.now() - t;
    log(`created ${users} users in the store (${userInsertMs.toFixed(0)} ms)`);

    // Certificates: the check users' and the bench user's are real (they are presented); the
    // other certified users' are records only. Each certified user gets a filter chain.
    const certificates = new BenchUserCertificates(stack.pki.userCa);
    t = performance.now();
    const checkUserList: CheckUser[] = [];
    const records: CertificateRecordInput[] = [];
    const presented = new Set<number>();
    for (let k = 0; k < checkUsers; k++) {
      const index = Math.floor((k * users) / checkUsers);
      const name = userName(index);
      const cert = certificates.issue(name, 3_600_000);
      records.push({ user: name, serial: cert.serial, notBefore: cert.notBefore.getTime(), notAfter: cert.notAfter.getTime() });
      presented.add(index);
      // Envoy forwards the PEM URL-encoded; encodeURIComponent escapes at least what it does.
      checkUserList.push({ index, name, encodedCertificate: encodeURIComponent(cert.certPem), principal: userUri(name), sni: userServerName(name) });
    }
    if (!signedBy(decodeURIComponent(checkUserList[0]!.encodedCertificate), stack.pki.userCa.certPem)) throw new Error('bench certificates do not chain to the user CA');
    const benchCertificate = certificates.issue(benchUser, 3_600_000);
    records.push({ user: benchUser, serial: benchCertificate.serial, notBefore: benchCertificate.notBefore.getTime(), notAfter: benchCertificate.notAfter.getTime() });
    presented.add(BENCH_USER_INDEX);
    for (let i = 0; i < certified; i++) if (!presented.has(i)) records.push(unpresentedCertificate(userName(i), 3_600_000));
    await bulkRecordCertificates(path.join(stateDir, 'kubegate.db'), records);
    log(`recorded ${records.length} user certificates, ${presented.size} of them real (${(performance.now() - t).toFixed(0)} ms); publishing...`);

    t = performance.now();
    await cp.refresh();
    const publishMs = performance.now() - t;
    const bigSnapshot = cp.cache.getSnapshot(EDGE_NODE_ID)!;
    const ldsAckMs = await waitForAck(cp.cache, EDGE_NODE_ID, bigSnapshot, t, { ldsOnly: true });
    const allAckMs = await waitForAck(cp.cache, EDGE_NODE_ID, bigSnapshot, t);
    await waitFor(async () => (await envoyStat(stack.envoy, 'listener_manager.total_listeners_warming')) === 0, 300_000, 'listener warm');
    const warmMs = performance.now() - t;
    log(`edge has ${cp.edgeUsers().length} filter chains: published in ${publishMs.toFixed(0)} ms, LDS ACKed after ${ldsAckMs.toFixed(0)} ms, warm after ${warmMs.toFixed(0)} ms`);
    const memoryAfter = { envoy: await envoyMemory(stack.envoy), controlPlaneRssMiB: rssMiB(process.pid) };

    // One more user at this scale: the cost of any later change (a new user, a revocation).
    t = performance.now();
    await stack.createUser(userName(users), userGroups(users));
    const onePublishMs = performance.now() - t;
    const oneSnapshot = cp.cache.getSnapshot(EDGE_NODE_ID)!;
    const oneLdsAckMs = await waitForAck(cp.cache, EDGE_NODE_ID, oneSnapshot, t, { ldsOnly: true });
    log(`one more user: published in ${onePublishMs.toFixed(0)} ms, LDS ACKed after ${oneLdsAckMs.toFixed(0)} ms`);

    // ---- (a) decisions per second ---------------------------------------------------------
    const authzClient = stack.pki.issueComponent('bench-authz-client', new Date());
    const checkBase = {
      port: cp.authzPort,
      caPem: stack.pki.internalCa.certPem,
      certPem: authzClient.certPem,
      keyPem: authzClient.keyPem,
      servername: CONTROL_PLANE_SERVER_NAME,
      users: checkUserList,
      connections: checkConnections,
      edgePort: stack.edgePort,
    };
    // Every run draws its repeating requests from the same pool (warm-up included, so the pool's
    // decisions are cached before measuring) and its never-seen names from a range of its own.
    log('check service: warming up...');
    await runCheckWorker({ ...checkBase, concurrency: 16, seconds: 2, missFraction: 0.1, seed: 1, uniqueStart: 0 });
    const checkResults = [];
    for (const concurrency of checkLevels) {
      for (const missFraction of missFractions) {
        log(`check service: concurrency ${concurrency}, miss fraction ${missFraction}`);
        const metricsBefore = cp.authzMetrics();
        const cpuBefore = cpuSeconds(process.pid);
        const r = await runCheckWorker({ ...checkBase, concurrency, seconds: checkSeconds, missFraction, seed: 1, uniqueStart: (checkResults.length + 1) * 1e9 });
        const cpCpu = cpuSeconds(process.pid) - cpuBefore;
        const metricsAfter = cp.authzMetrics();
        checkResults.push({
          concurrency,
          missFraction,
          decisions: r.decisions,
          allowedPercent: round((r.allowed / Math.max(1, r.decisions)) * 100),
          errors: r.errors,
          decisionsPerSecond: Math.round(r.decisionsPerSecond),
          p50Ms: round(r.p50Ms, 3),
          p99Ms: round(r.p99Ms, 3),
          controlPlane: {
            cpuMicrosPerDecision: round((cpCpu / Math.max(1, r.decisions)) * 1e6),
            coresUsed: round(cpCpu / r.seconds, 2),
            decisionsPerCpuSecond: Math.round(r.decisions / Math.max(cpCpu, 0.01)),
            serverCounted: {
              allowed: metricsAfter.allowed - metricsBefore.allowed,
              denied: metricsAfter.denied - metricsBefore.denied,
              errors: metricsAfter.errors - metricsBefore.errors,
            },
          },
          loadGenerator: { cpuMicrosPerDecision: round((r.loadGeneratorCpuSeconds / Math.max(1, r.decisions)) * 1e6), meanRequestBytes: r.meanRequestBytes },
        });
      }
    }

    // The same requests without the transport, in this process: what deciding costs, and
    // deciding plus protobuf decoding and encoding; the rest of a call's cost is HTTP/2 and TLS.
    const inProcess = missFractions.map((missFraction, k) => {
      log(`in process: miss fraction ${missFraction}`);
      const make = (fraction: number) => new CheckRequestSource({ ...checkBase, missFraction: fraction, seed: 1, uniqueStart: (1000 + k) * 1e9 });
      return { missFraction, ...inProcessRates(cp, make, missFraction, inProcessDecisions) };
    });

    // The floor of the transport: the same service, the same requests and load, with an
    // authorizer that answers at once. What it costs per call is HTTP/2, TLS and protobuf
    // alone, which no decision logic can go below in this process.
    const floorServer = await startCheckServer({
      tls: { caPem: stack.pki.internalCa.certPem, certPem: stack.pki.controlPlane.certPem, keyPem: stack.pki.controlPlane.keyPem },
      authorizer: { decide: () => TRANSPORT_FLOOR_DECISION },
      logger: createLogger('bench.floor', { level: 'error' }),
    });
    const transportFloor: { concurrency: number; callsPerSecond: number; p50Ms: number; p99Ms: number; cpuMicrosPerCall: number; callsPerCpuSecond: number }[] = [];
    try {
      for (const concurrency of checkLevels) {
        log(`transport floor: concurrency ${concurrency}`);
        const cpuBefore = cpuSeconds(process.pid);
        const r = await runCheckWorker({ ...checkBase, port: floorServer.port, concurrency, seconds: checkSeconds, missFraction: 0, seed: 1, uniqueStart: 0 });
        const cpu = cpuSeconds(process.pid) - cpuBefore;
        transportFloor.push({
          concurrency,
          callsPerSecond: Math.round(r.decisionsPerSecond),
          p50Ms: round(r.p50Ms, 3),
          p99Ms: round(r.p99Ms, 3),
          cpuMicrosPerCall: round((cpu / Math.max(1, r.decisions)) * 1e6),
          callsPerCpuSecond: Math.round(r.decisions / Math.max(cpu, 0.01)),
        });
      }
    } finally {
      await floorServer.stop();
    }

    // ---- (b) added latency: the same edge without the check -------------------------------
    const [noCheckPort, noCheckAdminPort] = await getFreePorts(2);
    const live = cp.cache.getSnapshot(EDGE_NODE_ID)!.resources();
    const benchRecord = await stack.store.getUser(benchUser);
    const identity = { user: benchUser, groups: benchRecord!.groups };
    const moved = {
      ...live,
      // The users' listener moves; the shards' internal listeners (userShards) have no address.
      listeners: live.listeners.map((l) => ('address' in l ? { ...l, address: { socket_address: { address: '127.0.0.1', port_value: noCheckPort! } } } : l)),
    };
    const noCheckSnapshot = new Snapshot(withoutAuthzCheck(moved, identity));
    cp.cache.setSnapshot(NO_CHECK_NODE_ID, noCheckSnapshot);
    log(`starting a second edge without the check (${cp.edgeUsers().length} filter chains)...`);
    t = performance.now();
    noCheckEnvoy = await EnvoyProcess.start({
      binary: stack.toolchain.envoy,
      bootstrap: edgeBootstrap({
        nodeId: NO_CHECK_NODE_ID,
        adminPort: noCheckAdminPort!,
        controlPlane: { host: '127.0.0.1', port: cp.port },
        authz: { host: '127.0.0.1', port: cp.authzPort },
        tls: stack.pki.componentFiles('edge-xds-client'),
      }),
      adminPort: noCheckAdminPort!,
      workDir: path.join(stateDir, 'edge-nocheck'),
      component: 'edge-envoy-nocheck',
      logger: logger.child('edge-envoy-nocheck'),
      readyTimeoutMs: 600_000,
    });
    const noCheckStartMs = performance.now() - t;
    const noCheckMemory = await envoyMemory(noCheckEnvoy);
    log(`second edge ready after ${noCheckStartMs.toFixed(0)} ms`);

    const apiPath = `/clusters/${BENCH_CLUSTER}/api/v1/namespaces/${BENCH_NAMESPACE}/configmaps/${BENCH_CONFIGMAP}`;
    const client = { caPem: stack.pki.servingCa.certPem, certPem: benchCertificate.certPem, keyPem: benchCertificate.keyPem, servername: userServerName(benchUser) };
    const withCheck: LoadTarget = { name: 'check', url: `${stack.edgeUrl}${apiPath}`, ...client };
    const noCheck: LoadTarget = { name: 'no-check', url: `https://127.0.0.1:${noCheckPort}${apiPath}`, ...client };
    for (const target of [withCheck, noCheck]) {
      const probe = await getOnce(target);
      if (probe.status !== 200) throw new Error(`GET ${apiPath} through the ${target.name} edge answers ${probe.status}: ${probe.body.slice(0, 300)}`);
    }
    const pids = {
      'kube-apiserver': cluster.pids.apiserver,
      etcd: cluster.pids.etcd,
      'edge-envoy': stack.envoy.pid!,
      'edge-envoy-nocheck': noCheckEnvoy.pid!,
      'control-plane': process.pid,
    };
    log('edges: warming up...');
    await runLoadWorker(withCheck, { concurrency: 8, requests: 500 });
    await runLoadWorker(noCheck, { concurrency: 8, requests: 500 });
    // Envoy's own count of what it sends the check service, to compare with the worker's requests.
    const authzStat = (name: string) => envoyStat(stack.envoy, `cluster.${AUTHZ_CLUSTER}.${name}`);
    const [txBefore, callsBefore] = [await authzStat('upstream_cx_tx_bytes_total'), await authzStat('upstream_rq_total')];
    const comparisons: Comparison[] = [];
    for (const concurrency of levels) {
      const onRound = (i: number) => log(`edges: concurrency ${concurrency}, round ${i + 1}/${rounds}`);
      comparisons.push(await compareLoad(noCheck, withCheck, pids, { concurrency, requests: requestsAt(concurrency, requests), rounds, onRound }));
    }
    const latencyResults = comparisons.map((c) => ({ concurrency: c.concurrency, requestsPerRound: c.requestsPerRound, noCheck: c.baseline, check: c.subject, ratios: c.ratios, addedMs: c.addedMs }));

    const [txAfter, callsAfter] = [await authzStat('upstream_cx_tx_bytes_total'), await authzStat('upstream_rq_total')];
    const envoyBytesPerCheckCall = callsAfter! > callsBefore! ? Math.round((txAfter! - txBefore!) / (callsAfter! - callsBefore!)) : null;

    const report = {
      benchmark: 'authz-overhead',
      when: new Date().toISOString(),
      machine: { ...machineAtStart, loadAverageAtEnd: machine().loadAverage },
      note: 'everything (kube-apiserver, etcd, both Envoys, control plane, load generator) shares this machine',
      targets: { decisionsPerSecondOnOneCoreAtLeast: 20_000, addedP99MsAtMost: 0.5 },
      scale: {
        users: users + 1,
        certificates: records.length,
        filterChains: cp.edgeUsers().length,
        groups: GROUPS,
        accessPolicies: GROUPS,
        rules: ruleCount,
        policyApplyMs: Math.round(policyApplyMs),
        userInsertMs: Math.round(userInsertMs),
        publishMs: Math.round(publishMs),
        ldsAckMs: Math.round(ldsAckMs),
        allTypesAckMs: Math.round(allAckMs),
        listenerWarmMs: Math.round(warmMs),
        oneMoreUser: { publishMs: Math.round(onePublishMs), ldsAckMs: Math.round(oneLdsAckMs) },
        memoryBefore,
        memoryAfter,
      },
      check: {
        how: 'real CheckRequests over mTLS HTTP/2 to the control plane in this process; load from a worker process',
        distinctUsers: checkUsers,
        connections: checkConnections,
        secondsPerRun: checkSeconds,
        results: checkResults,
        inProcess: {
          how: 'the same requests decided by a PolicyAuthorizer in this process, without HTTP/2 and TLS; per CPU-second of one thread',
          results: inProcess,
        },
        transportFloor: {
          how: 'the same Check service, requests and load with an authorizer that answers at once: HTTP/2, TLS and protobuf alone',
          results: transportFloor,
        },
      },
      latency: {
        request: `GET ${apiPath} as ${benchUser} (groups ${identity.groups.join(', ')})`,
        noCheckEdge: { startMs: Math.round(noCheckStartMs), memory: noCheckMemory },
        envoyBytesPerCheckCall,
        results: latencyResults,
      },
    };

    const out: string[] = [];
    out.push(`scale: ${report.scale.users} users (${report.scale.filterChains} filter chains), ${GROUPS} AccessPolicies, ${ruleCount} rules`);
    out.push(`  publish ${report.scale.publishMs} ms, LDS ACK ${report.scale.ldsAckMs} ms, listener warm ${report.scale.listenerWarmMs} ms; one more user: publish ${report.scale.oneMoreUser.publishMs} ms, LDS ACK ${report.scale.oneMoreUser.ldsAckMs} ms`);
    out.push(`  edge Envoy memory: allocated ${memoryBefore.envoy.allocatedMiB} → ${memoryAfter.envoy.allocatedMiB} MiB, RSS ${memoryBefore.envoy.rssMiB} → ${memoryAfter.envoy.rssMiB} MiB; control plane RSS ${memoryBefore.controlPlaneRssMiB} → ${memoryAfter.controlPlaneRssMiB} MiB`);
    out.push(`check service (${checkUsers} distinct users, ${checkConnections} connections, ${checkSeconds} s per run):`);
    for (const r of checkResults) {
      out.push(
        `  concurrency ${String(r.concurrency).padStart(3)}  misses ${String(r.missFraction).padEnd(4)} ${String(r.decisionsPerSecond).padStart(6)} decisions/s  p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms  allowed ${r.allowedPercent}%  errors ${r.errors}  ` +
          `control plane ${r.controlPlane.cpuMicrosPerDecision} µs CPU/decision (${r.controlPlane.coresUsed} cores, ${r.controlPlane.decisionsPerCpuSecond} decisions per CPU-second)`,
      );
    }
    out.push('same requests in process, without HTTP/2 and TLS (decisions per CPU-second):');
    for (const r of inProcess) {
      out.push(`  misses ${String(r.missFraction).padEnd(4)} decide only ${String(r.decideOnlyPerCpuSecond).padStart(7)}   decode + decide + encode ${String(r.withProtobufPerCpuSecond).padStart(7)}   allowed ${r.allowedPercent}%`);
    }
    out.push('transport floor: the same service and load, an authorizer that answers at once (HTTP/2 + TLS + protobuf only):');
    for (const f of transportFloor) {
      out.push(`  concurrency ${String(f.concurrency).padStart(3)}  ${String(f.callsPerSecond).padStart(6)} calls/s  p50 ${f.p50Ms.toFixed(3)} ms  p99 ${f.p99Ms.toFixed(3)} ms  ${f.cpuMicrosPerCall} µs CPU/call (${f.callsPerCpuSecond} calls per CPU-second)`);
    }
    out.push(`  (the worker's CheckRequest messages average ${checkResults[0]?.loadGenerator.meanRequestBytes ?? '-'} bytes; Envoy sent ${envoyBytesPerCheckCall ?? '-'} bytes per Check call in (b), HTTP/2 framing and headers included)`);
    out.push(`edges, ${report.latency.request}:`);
    for (const c of comparisons) out.push(`concurrency ${c.concurrency}`, ...formatComparison(c));
    out.push(`machine: ${machineAtStart.cpus} cpus, load average at start ${machineAtStart.loadAverage.join(' ')}, at end ${report.machine.loadAverageAtEnd.join(' ')}`);
    process.stdout.write(out.join('\n') + '\n');
    log(`results written to ${writeResults('authz-overhead', report)}`);
  } finally {
    await noCheckEnvoy?.stop();
    await stack.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`benchmark failed: ${(err as Error).stack ?? (err as Error).message}\n`);
  process.exitCode = 1;
});
