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
import * as http2 from 'node:http2';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startLocalStack, EDGE_NODE_ID, type LocalStack } from '../dev/stack/local-stack';
import { createLogger } from '../control-plane/log/logger';
import { userServerName } from '../control-plane/identity/user-identity';
import { LISTENER_TYPE_URL } from '../control-plane/xds/resource-types';
import { DEFAULT_USER_SHARDS } from '../control-plane/translator/input';
import { XDS_PROTOCOLS, type XdsProtocol } from '../control-plane/envoy/bootstrap';
import { isUserShardCount } from '../control-plane/identity/user-identity';
import { cpuSeconds } from './process-cpu';
import { AckTracker, BenchUserCertificates, bulkCreateUsers, bulkRecordCertificates, unpresentedCertificate, envoyMemory, machine, round, rssMiB, sleep, summarize, waitFor, waitForAck, writeResults } from './bench-support';

const CLUSTER = 'bench';
const NAMESPACE = 'watch-ns';
const GROUP = 'watchers';
const SEED_CONFIGMAP = 'seed';
const TARGET_MS = 2000;

type Method = 'revoke' | 'lost-access' | 'cli-revoke';
type ClientKind = 'raw' | 'kubectl';

const POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: bench-watchers}
spec:
  subjects: {groups: [${GROUP}]}
  clusters: {names: [${CLUSTER}]}
  rules:
    - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch], namespaces: [${NAMESPACE}]}
`;

// The aggregated view role is empty without kube-controller-manager, hence a role of our own.
const CLUSTER_OBJECTS = `apiVersion: v1
kind: Namespace
metadata: {name: ${NAMESPACE}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ${SEED_CONFIGMAP}, namespace: ${NAMESPACE}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: bench-watcher}
rules:
  - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bench-watchers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: bench-watcher}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: ${GROUP}}
`;

/** One user's open watch. Times are performance.now(). */
interface Watcher {
  readonly user: string;
  readonly kind: ClientKind;
  /** Resolves when the stream is closed (raw) or kubectl exited. */
  readonly closed: Promise<number>;
  closedAt?: number;
  /** First GOAWAY from the edge (raw only). */
  goawayAt?: number;
  output(): string;
  stop(): void;
}

function rawWatch(stack: LocalStack, user: string, cert: { certPem: string; keyPem: string }): Promise<Watcher> {
  return new Promise((resolve, reject) => {
    let out = '';
    let settle: (t: number) => void = () => undefined;
    const closed = new Promise<number>((r) => (settle = r));
    const session = http2.connect(stack.edgeUrl, { ca: stack.pki.servingCa.certPem, cert: cert.certPem, key: cert.keyPem, servername: userServerName(user) });
    const watcher: Watcher = {
      user,
      kind: 'raw',
      closed,
      output: () => out,
      stop: () => session.destroy(),
    };
    const markClosed = () => {
      if (watcher.closedAt === undefined) {
        watcher.closedAt = performance.now();
        settle(watcher.closedAt);
      }
    };
    session.on('error', (err) => reject(err));
    session.on('goaway', () => (watcher.goawayAt ??= performance.now()));
    session.on('close', markClosed);
    const stream = session.request({
      ':method': 'GET',
      ':path': `/clusters/${CLUSTER}/api/v1/namespaces/${NAMESPACE}/configmaps?watch=true&allowWatchBookmarks=true`,
      accept: 'application/json',
      'user-agent': 'kubegate-bench/revocation',
    });
    stream.setEncoding('utf8');
    stream.on('response', (headers) => {
      const status = Number(headers[':status']);
      if (status === 200) resolve(watcher);
      else reject(new Error(`watch as ${user} answered ${status}`));
    });
    stream.on('data', (d: string) => (out += d));
    stream.on('error', () => undefined);
    stream.on('close', markClosed);
    stream.end();
  });
}

async function kubectlWatch(stack: LocalStack, user: string): Promise<Watcher> {
  const kubeconfig = await stack.writeKubeconfig({ user, clusters: [CLUSTER] });
  let out = '';
  const proc: ChildProcess = spawn(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmaps', '-n', NAMESPACE, '-w', '-o', 'name']);
  let settle: (t: number) => void = () => undefined;
  const closed = new Promise<number>((r) => (settle = r));
  const watcher: Watcher = { user, kind: 'kubectl', closed, output: () => out, stop: () => proc.kill('SIGKILL') };
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  proc.on('exit', () => {
    watcher.closedAt = performance.now();
    settle(watcher.closedAt);
  });
  // The initial list has been printed: the watch request follows at once.
  await waitFor(() => out.includes(`configmap/${SEED_CONFIGMAP}`) || watcher.closedAt !== undefined, 60_000, `kubectl watch as ${user}`);
  if (watcher.closedAt !== undefined) throw new Error(`kubectl watch as ${user} exited: ${out.trim()}`);
  return watcher;
}

/** `kubegate revoke` from the compiled CLI, when this build has it. */
function cliPath(): string | null {
  const cli = path.join(__dirname, '..', 'control-plane', 'cli', 'main.js');
  const revoke = path.join(__dirname, '..', 'control-plane', 'cli', 'commands', 'revoke.js');
  return fs.existsSync(cli) && fs.existsSync(revoke) ? cli : null;
}

function runCli(cli: string, args: string[]): Promise<{ code: number | null; output: string; exitedAt: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBEGATE_SKIP_TOOLCHAIN: '1' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output, exitedAt: performance.now() }));
  });
}

/**
 * Times every push the control plane makes (its reconcile loop's publish: desired state,
 * translate, snapshot, consistency check, validation and encoding), however it was caused.
 */
class PublishTimer {
  private last: { count: number; ms: number; cpuMs: number };

  constructor(private readonly cp: { readonly publishStats: { readonly count: number; readonly ms: number; readonly cpuMs: number } }) {
    this.last = { ...cp.publishStats };
  }

  /**
   * The pushes since the last call, summed: wall time, and CPU time (a push is synchronous, so
   * this is what it cost, however busy the machine was).
   */
  take(): { count: number; ms: number; cpuMs: number } {
    const now = { ...this.cp.publishStats };
    const taken = { count: now.count - this.last.count, ms: now.ms - this.last.ms, cpuMs: now.cpuMs - this.last.cpuMs };
    this.last = now;
    return taken;
  }
}

interface Round {
  readonly method: Method;
  readonly user: string;
  readonly client: ClientKind;
  /** From the start of the action; null when not closed within --close-timeout-ms. */
  readonly closedMs: number | null;
  /** The store and the control plane's reload and publish (the API call, for cli-revoke). */
  readonly publishedMs: number;
  /** Time spent in the control plane's pushes (publish()) during the round, and their CPU time. */
  readonly publishMs: number;
  readonly publishCpuMs: number;
  readonly ldsAckMs: number | null;
  /** CPU the edge Envoy used from the start of the action until it ACKed the listener. */
  readonly envoyCpuMs: number | null;
  readonly goawayMs: number | null;
  readonly collateralCloses: number;
  readonly stalledWatches: number;
}

const log = (line: string) => process.stderr.write(line + '\n');

type Options = ReturnType<typeof parseOptions>;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '50' },
      'kubectl-users': { type: 'string', default: '16' },
      // A stream not closed this long after its user lost access counts as not closed.
      'close-timeout-ms': { type: 'string', default: '15000' },
      rounds: { type: 'string', default: '10' },
      'lost-access-rounds': { type: 'string', default: '10' },
      'cli-rounds': { type: 'string', default: '5' },
      'background-users': { type: 'string', default: '0' },
      'background-certified': { type: 'string', default: '0' },
      'user-shards': { type: 'string', default: String(DEFAULT_USER_SHARDS) },
      'xds-protocol': { type: 'string', default: 'delta' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run bench:revocation -- [--users 50] [--kubectl-users 16] [--rounds 10] [--lost-access-rounds 10] [--cli-rounds 5]\n' +
        '  [--background-users 0] [--background-certified 0] [--close-timeout-ms 15000] [--user-shards 16[,1,...]] [--xds-protocol delta[,sotw]]\n' +
        'See the header of bench/revocation.ts and bench/README.md.\n',
    );
    process.exit(0);
  }
  const userShards = values['user-shards'].split(',').map(Number);
  if (userShards.some((n) => !isUserShardCount(n))) throw new Error(`--user-shards: each must be a power of two from 1 to 256, not ${values['user-shards']}`);
  const xdsProtocols = values['xds-protocol'].split(',') as XdsProtocol[];
  if (xdsProtocols.some((p) => !XDS_PROTOCOLS.includes(p))) throw new Error(`--xds-protocol: each must be one of ${XDS_PROTOCOLS.join(', ')}, not ${values['xds-protocol']}`);
  return { values, userShards, xdsProtocols };
}

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
  const users = Number(values.users);
  const kubectlUsers = Number(values['kubectl-users']);
  const CLOSE_TIMEOUT_MS = Number(values['close-timeout-ms']);
  const plan: Array<[Method, number]> = [
    ['revoke', Number(values.rounds)],
    ['lost-access', Number(values['lost-access-rounds'])],
    ['cli-revoke', Number(values['cli-rounds'])],
  ];
  const background = Number(values['background-users']);
  const backgroundCertified = Number(values['background-certified']);
  const counts = [users, kubectlUsers, background, backgroundCertified, CLOSE_TIMEOUT_MS, ...plan.map(([, n]) => n)];
  if (counts.some((n) => !Number.isInteger(n) || n < 0)) throw new Error('every count must be a whole number');
  if (backgroundCertified > background) throw new Error('--background-certified cannot exceed --background-users');
  const victims = plan.reduce((s, [, n]) => s + n, 0);
  if (users < victims + 2) throw new Error(`--users must be at least the number of rounds plus 2 (${victims + 2}): each round takes one user's access, and some must stay`);
  if (kubectlUsers > users) throw new Error('--kubectl-users cannot exceed --users');

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

    const stats = (list: readonly Round[]) => {
      const closed = list.filter((r) => r.closedMs !== null).map((r) => r.closedMs!);
      const s = summarize(closed);
      const p50 = (f: (r: Round) => number | null) => {
        const v = list.map(f).filter((x): x is number => x !== null);
        return v.length ? round(summarize(v).p50, 0) : null;
      };
      return {
        rounds: list.length,
        closed: closed.length,
        notClosedWithinMs: { timeout: CLOSE_TIMEOUT_MS, count: list.length - closed.length },
        withinTarget: closed.filter((ms) => ms <= TARGET_MS).length,
        closedMs: { min: round(s.min, 0), p50: round(s.p50, 0), p99: round(s.p99, 0), max: round(s.max, 0), mean: round(s.mean, 0) },
        p50Breakdown: {
          publishedMs: p50((r) => r.publishedMs),
          publishMs: p50((r) => r.publishMs),
          publishCpuMs: p50((r) => r.publishCpuMs),
          ldsAckMs: p50((r) => r.ldsAckMs),
          envoyCpuMs: p50((r) => r.envoyCpuMs),
          goawayMs: p50((r) => r.goawayMs),
        },
        collateralCloses: list.reduce((n, r) => n + r.collateralCloses, 0),
        stalledWatches: list.reduce((n, r) => n + r.stalledWatches, 0),
      };
    };
    const methods = [...new Set(rounds.map((r) => r.method))];
    const summary = methods.map((m) => {
      const list = rounds.filter((r) => r.method === m);
      return { method: m, all: stats(list), raw: stats(list.filter((r) => r.client === 'raw')), kubectl: stats(list.filter((r) => r.client === 'kubectl')) };
    });
    const survivors = watchers.filter((w) => w.closedAt === undefined).length;
    const envoyMemoryAtEnd = await envoyMemory(stack.envoy);
    const report = {
      benchmark: 'revocation',
      when: new Date().toISOString(),
      machine: { ...machineAtStart, loadAverageAtEnd: machine().loadAverage },
      target: { closedWithinMs: TARGET_MS, collateralCloses: 0 },
      setup: {
        watchers: users,
        kubectlWatchers: watchers.filter((w) => w.kind === 'kubectl').length,
        rawWatchers: watchers.filter((w) => w.kind === 'raw').length,
        backgroundUsers: background,
        backgroundCertified,
        userShards,
        xdsProtocol,
        filterChains: chainsAtStart,
        edgeDrainTimeSeconds: 1,
        initialRefreshMs: Math.round(initialRefreshMs),
        initialPublishMs: Math.round(initialPublishMs),
        initialPublishCpuMs: Math.round(initialPublish.cpuMs),
        initialLdsAckMs: Math.round(initialAckMs),
      },
      memory: {
        edgeEnvoy: { atStart: envoyMemoryAtStart, withUsers: envoyMemoryWithUsers, atEnd: envoyMemoryAtEnd },
        controlPlaneRssMiB: { atStart: controlPlaneRssAtStartMiB, atEnd: rssMiB(process.pid) },
      },
      summary,
      survivingWatches: survivors,
      rounds: rounds.map((r) => ({ ...r, closedMs: r.closedMs === null ? null : round(r.closedMs, 0), publishedMs: round(r.publishedMs, 0), publishMs: round(r.publishMs, 0), publishCpuMs: round(r.publishCpuMs, 0), envoyCpuMs: r.envoyCpuMs === null ? null : round(r.envoyCpuMs, 0), ldsAckMs: r.ldsAckMs === null ? null : round(r.ldsAckMs, 0), goawayMs: r.goawayMs === null ? null : round(r.goawayMs, 0) })),
    };

    const out: string[] = [
      `user shards: ${userShards}${userShards === 1 ? ' (one listener with every chain)' : ''}, xDS: ${xdsProtocol}`,
      `${users} watchers (${report.setup.kubectlWatchers} kubectl, ${report.setup.rawWatchers} raw HTTP/2), ${background} background users (${backgroundCertified} with a certificate), ${report.setup.filterChains} filter chains at the edge`,
      `first push with every user: refresh ${report.setup.initialRefreshMs} ms (publish ${report.setup.initialPublishMs} ms, CPU ${report.setup.initialPublishCpuMs} ms), edge LDS ACK after ${report.setup.initialLdsAckMs} ms`,
      `edge Envoy RSS ${envoyMemoryAtStart.rssMiB} MiB at start, ${envoyMemoryWithUsers.rssMiB} MiB with the users, ${envoyMemoryAtEnd.rssMiB} MiB at the end (tcmalloc in use ${envoyMemoryAtStart.allocatedMiB} -> ${envoyMemoryWithUsers.allocatedMiB} -> ${envoyMemoryAtEnd.allocatedMiB} MiB)`,
    ];
    const line = (label: string, s: ReturnType<typeof stats>) =>
      s.rounds === 0
        ? null
        : `  ${label.padEnd(22)} n=${String(s.rounds).padStart(2)}  closed ms min ${s.closedMs.min}  p50 ${s.closedMs.p50}  p99 ${s.closedMs.p99}  max ${s.closedMs.max}  within ${TARGET_MS} ms: ${s.withinTarget}/${s.rounds}  ` +
          `not closed: ${s.notClosedWithinMs.count}  collateral closes: ${s.collateralCloses}  stalled: ${s.stalledWatches}  (p50 published ${s.p50Breakdown.publishedMs} ms, push ${s.p50Breakdown.publishMs} ms / CPU ${s.p50Breakdown.publishCpuMs} ms, LDS ACK ${s.p50Breakdown.ldsAckMs ?? '-'} ms, Envoy CPU ${s.p50Breakdown.envoyCpuMs ?? '-'} ms${s.p50Breakdown.goawayMs === null ? '' : `, GOAWAY ${s.p50Breakdown.goawayMs} ms`})`;
    for (const s of summary) {
      out.push(`${s.method}:`);
      for (const l of [line('all', s.all), line('raw HTTP/2 watch', s.raw), line('kubectl get -w', s.kubectl)]) if (l) out.push(l);
    }
    out.push(`watches still open at the end: ${survivors} of ${users - next} not targeted`);
    out.push(`machine: ${machineAtStart.cpus} cpus, load average at start ${machineAtStart.loadAverage.join(' ')}, at end ${report.machine.loadAverageAtEnd.join(' ')}`);
    process.stdout.write(out.join('\n') + '\n');
    const revoke = summary.find((s) => s.method === 'revoke')?.all;
    const summaryLine = `user shards ${String(userShards).padStart(3)}, xDS ${xdsProtocol.padEnd(5)}: ${revoke ? `closed ms p50 ${revoke.closedMs.p50}  max ${revoke.closedMs.max}  within ${TARGET_MS} ms ${revoke.withinTarget}/${revoke.rounds}  (LDS ACK p50 ${revoke.p50Breakdown.ldsAckMs ?? '-'} ms, Envoy CPU p50 ${revoke.p50Breakdown.envoyCpuMs ?? '-'} ms)` : 'no revoke rounds'}  edge Envoy RSS ${envoyMemoryWithUsers.rssMiB} MiB with the users`;
    return { report, summaryLine };
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

/**
 * Has the control plane translate with this many user shards from now on. The local stack
 * takes the edge's default; the controller does not pass a shard count through (yet), so the
 * benchmark sets it on the control plane's edge settings before any user is added: the first
 * push then replaces the edge's listeners before anyone has connected.
 */
main().catch((err) => {
  process.stderr.write(`benchmark failed: ${(err as Error).stack ?? (err as Error).message}\n`);
  process.exitCode = 1;
});
