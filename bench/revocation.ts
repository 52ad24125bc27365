/**
 * Benchmark: revocation-to-stream-closed time. The issue's target: open streams closed within
 * 2 s of a revocation.
 *
 * N users (default 50) each hold an open ConfigMap watch through the edge: a real
 * `kubectl get -w` for some, a raw HTTP/2 watch (as kubectl sends it: the user's certificate
 * and server name, ALPN h2) for the rest. Then, round by round, one user loses access and the
 * time until that user's stream is closed at the client is measured, while every other watch
 * must stay open and keep receiving events (a close or a stall is counted as collateral; it must
 * be 0). Three ways to lose access:
 *   revoke       store.revokeUser + controlPlane.refresh(), as the admin API does
 *   lost-access  the user's only group is removed (store.setUserGroups + refresh): the open
 *                stream is decided again and no longer allowed
 *   cli-revoke   `kubegate revoke --user NAME` (the compiled CLI, through the admin API), timed
 *                from the moment the command is started
 * Each round also records when the control plane had published (refresh returned), when the
 * edge ACKed the new listener, and (raw watches) when the edge sent GOAWAY, so the total can be
 * read as publish + xDS delivery + Envoy's drain.
 *
 * With --background-users N, N more users (none with a watch) are added first, to see how the
 * time grows with the number of users; --background-certified M of them (default 0) also hold an
 * unexpired certificate, as users who fetched a kubeconfig today do (the edge gives such a user
 * a filter chain of their own). Every push the control plane makes is timed (translate,
 * snapshot, validation and encoding), and the edge Envoy's memory is read before the users are
 * added, once the edge has them, and at the end.
 *
 *   npm run bench:revocation -- [--users 50] [--kubectl-users 16] [--rounds 10]
 *     [--lost-access-rounds 10] [--cli-rounds 5] [--background-users 0] [--background-certified 0]
 *     [--close-timeout-ms 15000] [--user-shards 16[,1,...]] [--xds-protocol delta[,sotw]]
 * --user-shards runs the whole benchmark once per shard count (EdgeSettings.userShards, each in
 * a fresh stack; default: the edge's default) and ends with a comparison; --xds-protocol does
 * the same per ADS variant of the edge Envoy (default delta).
 * Writes bench/results/revocation.json. Measures, never passes or fails.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalStack, EDGE_NODE_ID, type LocalStack } from '../dev/stack/local-stack';
import { createLogger } from '../control-plane/log/logger';
import { LISTENER_TYPE_URL } from '../control-plane/xds/resource-types';
import type { XdsProtocol } from '../control-plane/envoy/bootstrap';
import { cpuSeconds } from './process-cpu';
import { AckTracker, BenchUserCertificates, bulkCreateUsers, bulkRecordCertificates, unpresentedCertificate, envoyMemory, machine, rssMiB, sleep, waitFor, waitForAck, writeResults } from './bench-support';
import { PublishTimer } from './publish-timer';
import { cliPath, runCli } from './revocation-cli';
import { parseOptions, runSettings, type Options } from './revocation-options';
import { comparisonLine, reportLines, revocationReport, type Round, type RunFacts } from './revocation-report';
import { CLUSTER, CLUSTER_OBJECTS, GROUP, kubectlWatch, NAMESPACE, POLICY, rawWatch, type ClientKind, type Watcher } from './revocation-watches';

const log = (line: string) => process.stderr.write(line + '\n');

async function main(): Promise<void> {
  const options = parseOptions();
  const runs: Array<{ report: Record<string, unknown>; summaryLine: string }> = [];
  const several = options.userShards.length * options.xdsProtocols.length > 1;
  for (const shards of options.userShards) {
    for (const protocol of options.xdsProtocols) {
      if (several) log(`---- user shards: ${shards}, xDS: ${protocol} ----`);
      runs.push(await runOnce(options, shards, protocol));
    }
  }
  if (runs.length === 1) {
    log(`results written to ${writeResults('revocation', runs[0]!.report)}`);
    return;
  }
  process.stdout.write(['', 'comparison (revoke, all rounds):', ...runs.map((r) => `  ${r.summaryLine}`)].join('\n') + '\n');
  log(`results written to ${writeResults('revocation', { benchmark: 'revocation', runs: runs.map((r) => r.report) })}`);
}

async function runOnce({ values }: Options, userShards: number, xdsProtocol: XdsProtocol): Promise<{ report: Record<string, unknown>; summaryLine: string }> {
  const { users, kubectlUsers, closeTimeoutMs: CLOSE_TIMEOUT_MS, plan, background, backgroundCertified } = runSettings(values);

  const logger = createLogger('bench', { level: 'warn' });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-bench-revocation-'));
  const machineAtStart = machine();
  log(`starting the local stack in ${stateDir}... (load average ${machineAtStart.loadAverage.join(' ')})`);
  const stack = await startLocalStack({ stateDir, clusters: [CLUSTER], edgeUserShards: userShards, edgeXdsProtocol: xdsProtocol, logger });
  const watchers: Watcher[] = [];
  let stopTracker = () => undefined as void;
  try {
    const cp = stack.controlPlane;
    const cluster = stack.clusters[0]!;
    const applied = await cluster.kubectl(['apply', '-f', '-'], CLUSTER_OBJECTS);
    if (applied.code !== 0) throw new Error(`could not prepare the cluster: ${applied.stderr.trim()}`);
    await stack.applyPolicies([...(await stack.store.getPolicySet()).files, { fileName: 'bench-watchers.yaml', text: POLICY }], 'bench');

    const names = Array.from({ length: users }, (_, i) => `watcher-${i}`);
    const envoyMemoryAtStart = await envoyMemory(stack.envoy);
    const controlPlaneRssAtStartMiB = rssMiB(process.pid);
    const storeFile = path.join(stateDir, 'kubegate.db');
    await bulkCreateUsers(storeFile, [
      ...names.map((name) => ({ name, groups: [GROUP] })),
      ...Array.from({ length: background }, (_, i) => ({ name: `background-${i}`, groups: [`team-${i % 100}`] })),
    ]);
    await bulkRecordCertificates(storeFile, Array.from({ length: backgroundCertified }, (_, i) => unpresentedCertificate(`background-${i}`, 8 * 3_600_000)));
    const publishes = new PublishTimer(cp);
    let t = performance.now();
    await cp.refresh();
    const initialRefreshMs = performance.now() - t;
    const initialPublish = publishes.take();
    const initialSnapshot = cp.cache.getSnapshot(EDGE_NODE_ID)!;
    const initialAckMs = await waitForAck(cp.cache, EDGE_NODE_ID, initialSnapshot, t, { ldsOnly: true });
    const initialPublishMs = initialPublish.ms;
    const chainsAtStart = filterChains(cp);
    const envoyMemoryWithUsers = await envoyMemory(stack.envoy);
    log(
      `${users} watchers${background ? ` and ${background} background users (${backgroundCertified} with a certificate)` : ''} created; ` +
        `refresh ${initialRefreshMs.toFixed(0)} ms (publish ${initialPublishMs.toFixed(0)} ms, CPU ${initialPublish.cpuMs.toFixed(0)} ms), edge ACKed ${chainsAtStart} filter chains after ${initialAckMs.toFixed(0)} ms; ` +
        `edge Envoy RSS ${envoyMemoryAtStart.rssMiB} -> ${envoyMemoryWithUsers.rssMiB} MiB`,
    );

    // Every kind of client takes part in every method: victims alternate between kinds.
    const certificates = new BenchUserCertificates(stack.pki.userCa);
    const kindOf = (i: number): ClientKind => (i < kubectlUsers ? 'kubectl' : 'raw');
    log(`opening ${users} watches (${names.filter((_, i) => kindOf(i) === 'kubectl').length} kubectl, the rest raw HTTP/2)...`);
    // Raw watchers' certificates are recorded straight into the store, as another replica would:
    // the control plane finds them on its next reload and gives those users a filter chain;
    // kubectl watchers get theirs through the issuer, which waits until the edge has the chain.
    const rawCertificates = new Map<string, ReturnType<BenchUserCertificates['issue']>>();
    for (const [i, user] of names.entries()) {
      if (kindOf(i) === 'kubectl') continue;
      const cert = certificates.issue(user, 3_600_000);
      await stack.store.recordCertificate({ serial: cert.serial, user, notBefore: cert.notBefore.getTime(), notAfter: cert.notAfter.getTime(), issuedAt: Date.now() });
      rawCertificates.set(user, cert);
    }
    t = performance.now();
    await cp.refresh();
    await waitForAck(cp.cache, EDGE_NODE_ID, cp.cache.getSnapshot(EDGE_NODE_ID)!, t, { ldsOnly: true });
    const opened = await Promise.all(names.map(async (user, i) => (kindOf(i) === 'kubectl' ? kubectlWatch(stack, user) : rawWatch(stack, user, rawCertificates.get(user)!))));
    watchers.push(...opened);
    publishes.take();

    let probes = 0;
    /** Creates a ConfigMap and waits until every open watch has seen it; returns those that did not. */
    const probeLiveness = async (open: readonly Watcher[]): Promise<Watcher[]> => {
      const name = `probe-${probes++}`;
      const created = await cluster.kubectl(['create', 'configmap', name, '-n', NAMESPACE]);
      if (created.code !== 0) throw new Error(`could not create ConfigMap ${name}: ${created.stderr.trim()}`);
      try {
        await waitFor(() => open.every((w) => w.output().includes(name)), 15_000, 'every open watch sees the probe', 50);
        return [];
      } catch {
        return open.filter((w) => !w.output().includes(name));
      }
    };
    const stalledAtStart = await probeLiveness(watchers);
    if (stalledAtStart.length > 0) throw new Error(`${stalledAtStart.length} watches do not receive events: ${stalledAtStart.map((w) => w.user).join(', ')}`);
    log('every watch is established and receives events');

    const cli = cliPath();
    const acks = new AckTracker(cp.cache, EDGE_NODE_ID);
    stopTracker = () => acks.stop();
    const rounds: Round[] = [];
    let next = 0;
    // Victims taken in an order that alternates client kinds within each method.
    const byKind = { raw: watchers.filter((w) => w.kind === 'raw'), kubectl: watchers.filter((w) => w.kind === 'kubectl') };
    // Two watches of each kind stay untouched when possible, to show collateral damage on both.
    const takeVictim = (r: number): Watcher => {
      const spare = (kind: ClientKind) => byKind[kind].length > 2;
      const kind: ClientKind = r % 2 === 1 && spare('kubectl') ? 'kubectl' : spare('raw') ? 'raw' : byKind.kubectl.length > byKind.raw.length ? 'kubectl' : 'raw';
      next++;
      return byKind[kind].shift()!;
    };
    for (const [method, count] of plan) {
      if (method === 'cli-revoke' && count > 0 && !cli) {
        log('cli-revoke: the compiled CLI has no revoke command in this build; skipped');
        continue;
      }
      for (let r = 0; r < count; r++) {
        const victim = takeVictim(r);
        const others = watchers.filter((w) => w !== victim && w.closedAt === undefined);
        const closedBefore = new Set(watchers.filter((w) => w.closedAt !== undefined));
        const before = cp.cache.getSnapshot(EDGE_NODE_ID)!.version(LISTENER_TYPE_URL);
        publishes.take();
        const envoyCpuAtStart = cpuSeconds(stack.envoy.pid!);
        const t0 = performance.now();
        let publishedAt: number;
        if (method === 'revoke') {
          const revoked = await stack.store.revokeUser(victim.user, Date.now(), 'bench');
          if (revoked.revokedCertificates < 1) throw new Error(`revoking ${victim.user} revoked no certificate`);
          await cp.refresh();
          publishedAt = performance.now();
        } else if (method === 'lost-access') {
          await stack.store.setUserGroups(victim.user, [], Date.now());
          await cp.refresh();
          publishedAt = performance.now();
        } else {
          const done = await runCli(cli!, ['revoke', '--user', victim.user, '--server', stack.apiUrl, '--kubeconfig', stack.adminKubeconfigPath]);
          if (done.code !== 0) throw new Error(`kubegate revoke failed (${done.code}): ${done.output.trim()}`);
          publishedAt = done.exitedAt;
        }
        const snapshot = cp.cache.getSnapshot(EDGE_NODE_ID)!;
        const ack = snapshot.version(LISTENER_TYPE_URL) === before ? Promise.resolve(null) : acks.ackedAt(snapshot, CLOSE_TIMEOUT_MS);
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), Math.max(0, CLOSE_TIMEOUT_MS - (performance.now() - t0)))));
        const closedAt = await Promise.race([victim.closed, timeout]);
        clearTimeout(timer);
        const ackedAt = await ack;
        const ldsAckMs = ackedAt === null ? null : ackedAt - t0;
        const envoyCpuMs = ackedAt === null ? null : (cpuSeconds(stack.envoy.pid!) - envoyCpuAtStart) * 1000;
        const pushed = publishes.take();
        const publishMs = pushed.ms;
        // A moment for any collateral close to show, then check the others still receive events.
        await sleep(200);
        const collateral = watchers.filter((w) => w !== victim && w.closedAt !== undefined && !closedBefore.has(w));
        const stalled = await probeLiveness(others.filter((w) => w.closedAt === undefined));
        const result: Round = {
          method,
          user: victim.user,
          client: victim.kind,
          closedMs: closedAt === null ? null : closedAt - t0,
          publishedMs: publishedAt - t0,
          publishMs,
          publishCpuMs: pushed.cpuMs,
          ldsAckMs,
          envoyCpuMs,
          goawayMs: victim.goawayAt !== undefined ? victim.goawayAt - t0 : null,
          collateralCloses: collateral.length,
          stalledWatches: stalled.length,
        };
        rounds.push(result);
        if (closedAt === null) victim.stop();
        log(
          `${method.padEnd(11)} ${victim.user.padEnd(11)} (${victim.kind.padEnd(7)}) closed after ${result.closedMs === null ? `> ${CLOSE_TIMEOUT_MS}` : result.closedMs.toFixed(0)} ms ` +
            `(published ${result.publishedMs.toFixed(0)} ms, ${pushed.count} push(es) ${publishMs.toFixed(0)} ms / CPU ${pushed.cpuMs.toFixed(0)} ms, ` +
            `LDS ACK ${ldsAckMs === null ? '-' : ldsAckMs.toFixed(0)} ms, Envoy CPU ${envoyCpuMs === null ? '-' : envoyCpuMs.toFixed(0)} ms${result.goawayMs === null ? '' : `, GOAWAY ${result.goawayMs.toFixed(0)} ms`}); collateral closes ${collateral.length}, stalled ${stalled.length}`,
        );
      }
    }

    const survivors = watchers.filter((w) => w.closedAt === undefined).length;
    const envoyMemoryAtEnd = await envoyMemory(stack.envoy);
    const run: RunFacts = {
      machineAtStart,
      closeTimeoutMs: CLOSE_TIMEOUT_MS,
      watchers: users,
      kubectlWatchers: watchers.filter((w) => w.kind === 'kubectl').length,
      rawWatchers: watchers.filter((w) => w.kind === 'raw').length,
      backgroundUsers: background,
      backgroundCertified,
      userShards,
      xdsProtocol,
      filterChains: chainsAtStart,
      initialRefreshMs,
      initialPublishMs,
      initialPublishCpuMs: initialPublish.cpuMs,
      initialLdsAckMs: initialAckMs,
      envoyMemory: { atStart: envoyMemoryAtStart, withUsers: envoyMemoryWithUsers, atEnd: envoyMemoryAtEnd },
      controlPlaneRssAtStartMiB,
      rounds,
      survivingWatches: survivors,
      untargeted: users - next,
    };
    const report = revocationReport(run);
    process.stdout.write(reportLines(run, report).join('\n') + '\n');
    return { report, summaryLine: comparisonLine(run, report) };
  } finally {
    stopTracker();
    for (const w of watchers) w.stop();
    await stack.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

/** The users' filter chains in the current snapshot (the edge listener's, or every shard's). */
function filterChains(cp: LocalStack['controlPlane']): number {
  const listeners = [...(cp.cache.getSnapshot(EDGE_NODE_ID)?.resourceMap(LISTENER_TYPE_URL).values() ?? [])] as Array<{ filter_chains?: Array<{ name?: string }> }>;
  return listeners.flatMap((l) => l.filter_chains ?? []).filter((c) => c.name?.startsWith('user/')).length;
}

main().catch((err) => {
  process.stderr.write(`benchmark failed: ${(err as Error).stack ?? (err as Error).message}\n`);
  process.exitCode = 1;
});
