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
import { startLocalStack, EDGE_NODE_ID } from '../dev/stack/local-stack';
import { createLogger } from '../control-plane/log/logger';
import { userServerName, userUri } from '../control-plane/identity/user-identity';
import { EnvoyProcess } from '../dev/process/envoy-process';
import { edgeBootstrap, AUTHZ_CLUSTER } from '../control-plane/envoy/bootstrap';
import { getFreePorts } from '../dev/process/free-port';
import { Snapshot } from '../control-plane/xds/snapshot';
import { getOnce, type LoadTarget } from './load';
import { compareLoad, requestsAt, runLoadWorker, type Comparison } from './load-run-support';
import { BenchUserCertificates, bulkCreateUsers, bulkRecordCertificates, unpresentedCertificate, type CertificateRecordInput, envoyMemory, envoyStat, machine, rssMiB, signedBy, waitFor, waitForAck, writeResults } from './bench-support';
import { BENCH_CLUSTER, BENCH_CLUSTER_LABELS, GROUPS, RULES_PER_POLICY, policyFiles, userGroups, userName, withoutAuthzCheck } from './authz-support';
import type { CheckUser } from './check-load-support';
import { BENCH_CONFIGMAP, BENCH_NAMESPACE, BENCH_USER_INDEX, benchUserClusterObjects } from './authz-bench-user';
import { measureChecks } from './authz-check-rates';
import { parseOptions } from './authz-options';
import { authzReport, reportLines, type AuthzFacts } from './authz-report';

const NO_CHECK_NODE_ID = 'edge-nocheck';

const log = (line: string) => process.stderr.write(line + '\n');

async function main(): Promise<void> {
  const options = parseOptions();
  const { users, checkUsers, certified, checkSeconds, checkConnections, requests, rounds, levels } = options;

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

    // Inside the cluster: the object the GETs read, and RBAC for the bench user's teams.
    const applied = await cluster.kubectl(['apply', '-f', '-'], benchUserClusterObjects());
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

    // ---- (a) decisions per second: authz-check-rates.ts -------------------------------------
    const checks = await measureChecks(stack, options, checkUserList);

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

    const [txAfter, callsAfter] = [await authzStat('upstream_cx_tx_bytes_total'), await authzStat('upstream_rq_total')];
    const envoyBytesPerCheckCall = callsAfter! > callsBefore! ? Math.round((txAfter! - txBefore!) / (callsAfter! - callsBefore!)) : null;

    const facts: AuthzFacts = {
      ...checks,
      machineAtStart,
      users,
      certificates: records.length,
      filterChains: cp.edgeUsers().length,
      ruleCount,
      policyApplyMs,
      userInsertMs,
      publishMs,
      ldsAckMs,
      allAckMs,
      warmMs,
      onePublishMs,
      oneLdsAckMs,
      memoryBefore,
      memoryAfter,
      checkUsers,
      checkConnections,
      checkSeconds,
      apiPath,
      benchUser,
      benchUserGroups: identity.groups,
      noCheckStartMs,
      noCheckMemory,
      envoyBytesPerCheckCall,
      comparisons,
    };
    const report = authzReport(facts);
    process.stdout.write(reportLines(facts, report).join('\n') + '\n');
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
