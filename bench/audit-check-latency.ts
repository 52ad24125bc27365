/**
 * Part 2 of bench/audit-overhead.ts: the latency the durable decision write adds to a request.
 *
 * One ext_authz Check server per backend, composed as ControlPlane.start composes it: a
 * PolicyAuthorizer with a decision cache of its own, wrapped by an AuditingAuthorizer whose
 * AuditWriter (default settings) appends to that backend, served by the real check server on
 * its own mTLS HTTP/2 port. The edge holds a request until its Check call answers, and the
 * decision write is inside that call, so what the write adds to the call is what it adds to
 * the request. A load worker (bench/check-load-support.ts, a process of its own) calls each
 * server in turn as Envoy does, with the same requests: the same seed, and within a round the
 * same never-seen names (each server has its own cache, so they are misses at each). Rounds
 * rotate which backend goes first, so a drift in the machine's load favours none.
 */
import * as path from 'node:path';
import type { Logger } from '../control-plane/log/logger';
import { startCheckServer, type RunningCheckServer } from '../control-plane/authz/check-server';
import { AuditWriter } from '../control-plane/audit/audit-writer';
import { AuditingAuthorizer } from '../control-plane/audit/auditing-authorizer';
import { CONTROL_PLANE_SERVER_NAME } from '../control-plane/envoy/bootstrap';
import type { AuditBackend, BackendName } from './audit-backends';
import { CLAIMED_EDGE_PORT, type AuditBenchAccess } from './audit-bench-access';
import { RecordingAppender, type BatchFigures } from './recording-appender';
import { processTreeCpuSeconds } from './process-tree-cpu';
import { runJsonWorker } from './json-worker';
import type { CheckLoadInput, CheckLoadResult } from './check-load-support';
import { round } from './bench-support';

const CHECK_WORKER = path.join(__dirname, 'check-load-support.js');

export class AuditedCheckServer {
  private constructor(
    readonly backend: AuditBackend,
    readonly recorder: RecordingAppender,
    readonly writer: AuditWriter,
    private readonly server: RunningCheckServer,
  ) {}

  static async start(backend: AuditBackend, setup: AuditBenchAccess, logger: Logger): Promise<AuditedCheckServer> {
    const recorder = new RecordingAppender(backend.appender);
    const writer = new AuditWriter({ appender: recorder });
    const authorizer = new AuditingAuthorizer({ inner: setup.authorizer(), writer, clock: Date.now, logger: logger.child(`audit-${backend.name}`) });
    const { internalCa, controlPlane } = setup.pki;
    const server = await startCheckServer({ tls: { caPem: internalCa.certPem, certPem: controlPlane.certPem, keyPem: controlPlane.keyPem }, authorizer, logger: logger.child(`authz-${backend.name}`) });
    return new AuditedCheckServer(backend, recorder, writer, server);
  }

  get port(): number {
    return this.server.port;
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.writer.close();
  }
}

/** What every run's worker gets besides the port and the load shape. */
export type CheckClient = Pick<CheckLoadInput, 'caPem' | 'certPem' | 'keyPem' | 'servername' | 'users' | 'connections' | 'edgePort'>;

export function checkClient(setup: AuditBenchAccess, connections: number): CheckClient {
  const client = setup.pki.issueComponent('bench-audit-client', new Date());
  return { caPem: setup.pki.internalCa.certPem, certPem: client.certPem, keyPem: client.keyPem, servername: CONTROL_PLANE_SERVER_NAME, users: setup.checkUsers, connections, edgePort: CLAIMED_EDGE_PORT };
}

export interface LoadShape {
  readonly concurrency: number;
  readonly seconds: number;
  readonly missFraction: number;
  /** First never-seen name of the run (CheckLoadInput.uniqueStart). */
  readonly uniqueStart: number;
}

export interface CheckRun {
  readonly backend: BackendName;
  readonly concurrency: number;
  readonly decisions: number;
  readonly seconds: number;
  readonly decisionsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Calls that did not return a CheckResponse. */
  readonly errors: number;
  /** Decision records the store did not take: their requests were refused (503). */
  readonly auditFailures: number;
  readonly allowedPercent: number;
  readonly batches: BatchFigures;
  readonly cpuMicrosPerDecision: { readonly controlPlane: number; readonly server?: number; readonly loadGenerator: number };
}

/** One load run against one server, with the CPU this process (the control plane) and the database server spent. */
export async function runChecks(target: AuditedCheckServer, client: CheckClient, shape: LoadShape): Promise<CheckRun> {
  const pid = target.backend.serverPid;
  const serverCpu = () => (pid ? processTreeCpuSeconds(pid) : 0);
  target.recorder.take();
  const failedBefore = target.writer.stats.failed;
  const cpuBefore = process.cpuUsage();
  const serverBefore = serverCpu();
  const r = await runJsonWorker<CheckLoadInput, CheckLoadResult>(CHECK_WORKER, { ...client, port: target.port, seed: 1, ...shape });
  const cpu = process.cpuUsage(cpuBefore);
  const serverSeconds = serverCpu() - serverBefore;
  const perDecision = (seconds: number) => round((seconds / Math.max(1, r.decisions)) * 1e6, 1);
  return {
    backend: target.backend.name,
    concurrency: shape.concurrency,
    decisions: r.decisions,
    seconds: round(r.seconds, 2),
    decisionsPerSecond: Math.round(r.decisionsPerSecond),
    p50Ms: round(r.p50Ms, 3),
    p99Ms: round(r.p99Ms, 3),
    errors: r.errors,
    auditFailures: target.writer.stats.failed - failedBefore,
    allowedPercent: round((r.allowed / Math.max(1, r.decisions)) * 100),
    batches: target.recorder.take(),
    cpuMicrosPerDecision: {
      // Includes the worker's process start-up wait, when this process is idle; negligible.
      controlPlane: perDecision((cpu.user + cpu.system) / 1e6),
      ...(pid ? { server: perDecision(serverSeconds) } : {}),
      loadGenerator: perDecision(r.loadGeneratorCpuSeconds),
    },
  };
}

export interface CombinedChecks {
  readonly backend: BackendName;
  readonly rounds: number;
  readonly decisions: number;
  /** Means over rounds; each round's p50/p99 is its own percentile. */
  readonly decisionsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p99MsByRound: readonly number[];
  readonly errors: number;
  readonly auditFailures: number;
  readonly allowedPercent: number;
  /** Decision records per write (group commit), over all rounds. */
  readonly meanBatch: number;
  readonly writeP99Ms: number;
  /** Share of the run a write was under way (SQLite: the event loop was held by a commit). */
  readonly writeBusyPercent: number;
  readonly cpuMicrosPerDecision: { readonly controlPlane: number; readonly server?: number; readonly loadGenerator: number };
}

export function combineChecks(runs: readonly CheckRun[]): CombinedChecks {
  const mean = (f: (r: CheckRun) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  const sum = (f: (r: CheckRun) => number) => runs.reduce((s, r) => s + f(r), 0);
  const server = runs[0]!.cpuMicrosPerDecision.server;
  return {
    backend: runs[0]!.backend,
    rounds: runs.length,
    decisions: sum((r) => r.decisions),
    decisionsPerSecond: Math.round(mean((r) => r.decisionsPerSecond)),
    p50Ms: round(mean((r) => r.p50Ms), 3),
    p99Ms: round(mean((r) => r.p99Ms), 3),
    p99MsByRound: runs.map((r) => r.p99Ms),
    errors: sum((r) => r.errors),
    auditFailures: sum((r) => r.auditFailures),
    allowedPercent: round(mean((r) => r.allowedPercent)),
    meanBatch: round(sum((r) => r.batches.events) / Math.max(1, sum((r) => r.batches.batches)), 2),
    writeP99Ms: round(mean((r) => r.batches.writeMs.p99), 3),
    writeBusyPercent: round((sum((r) => r.batches.busyMs) / Math.max(1, sum((r) => r.seconds) * 1000)) * 100),
    cpuMicrosPerDecision: {
      controlPlane: round(mean((r) => r.cpuMicrosPerDecision.controlPlane)),
      ...(server !== undefined ? { server: round(mean((r) => r.cpuMicrosPerDecision.server ?? 0)) } : {}),
      loadGenerator: round(mean((r) => r.cpuMicrosPerDecision.loadGenerator)),
    },
  };
}

export interface CheckLatencyLevel {
  readonly concurrency: number;
  readonly secondsPerRun: number;
  /** The memory baseline first. */
  readonly backends: readonly CombinedChecks[];
  /** Each durable backend against memory: mean p50/p99 minus memory's. */
  readonly addedMs: Readonly<Partial<Record<BackendName, { readonly p50: number; readonly p99: number }>>>;
  readonly runs: readonly CheckRun[];
}

/**
 * Every concurrency level, `rounds` rounds each; in round i the backends run in an order
 * rotated by i. `servers[0]` is the baseline the others are compared with.
 */
export async function compareCheckLatency(
  servers: readonly AuditedCheckServer[],
  client: CheckClient,
  opts: { levels: readonly number[]; rounds: number; seconds: number; missFraction: number; onRun?: (concurrency: number, round: number, backend: BackendName) => void },
): Promise<CheckLatencyLevel[]> {
  const results: CheckLatencyLevel[] = [];
  let runRange = 1;
  for (const concurrency of opts.levels) {
    const runs: CheckRun[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      // The same never-seen names for every backend in this round, new ones for the next.
      const shape: LoadShape = { concurrency, seconds: opts.seconds, missFraction: opts.missFraction, uniqueStart: runRange++ * 1e9 };
      const order = servers.map((_, k) => servers[(k + i) % servers.length]!);
      for (const server of order) {
        opts.onRun?.(concurrency, i, server.backend.name);
        runs.push(await runChecks(server, client, shape));
      }
    }
    const backends = servers.map((s) => combineChecks(runs.filter((r) => r.backend === s.backend.name)));
    const baseline = backends[0]!;
    const addedMs: Partial<Record<BackendName, { p50: number; p99: number }>> = {};
    for (const b of backends.slice(1)) addedMs[b.backend] = { p50: round(b.p50Ms - baseline.p50Ms, 3), p99: round(b.p99Ms - baseline.p99Ms, 3) };
    results.push({ concurrency, secondsPerRun: opts.seconds, backends, addedMs, runs });
  }
  return results;
}
