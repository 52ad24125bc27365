/**
 * Part 1 of bench/audit-overhead.ts: decision records per second sustained at the durable
 * write. Each caller stands for one request waiting for its decision record, as
 * AuditingAuthorizer waits: it hands the AuditWriter (group commit, the control plane's
 * settings) an event, waits until the event is durable, then hands over the next. With
 * `inFlight` callers there are always that many records waiting, so the writer's batches show
 * how far one commit is shared, and the wait per record is what a request would wait.
 */
import type { AuditEvent } from '../control-plane/audit/audit-event';
import { AuditWriter } from '../control-plane/audit/audit-writer';
import type { AuditBackend, BackendName } from './audit-backends';
import { RecordingAppender, type BatchFigures } from './recording-appender';
import { processTreeCpuSeconds } from './process-tree-cpu';
import { round, summarize } from './bench-support';

export interface StoreThroughput {
  readonly backend: BackendName;
  readonly inFlight: number;
  readonly seconds: number;
  /** Records made durable (acknowledged to their caller) within the run. */
  readonly records: number;
  readonly recordsPerSecond: number;
  /** Records the writer refused or the store failed; their requests would have been refused. */
  readonly failed: number;
  /** From handing the event to the writer until it was durable, per record. */
  readonly waitMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly batches: BatchFigures;
  /** Share of the run a write was under way (SQLite: the event loop was held by a commit). */
  readonly writeBusyPercent: number;
  /** CPU per record: this process (caller, writer, validation, hashing, the store's client) and the database server, if any. */
  readonly cpuMicrosPerRecord: { readonly benchProcess: number; readonly server?: number };
}

/**
 * A stream of events from `samples`, each with a request id of its own (the audit log indexes
 * them) and the time it was recorded, as the control plane writes them.
 */
export function eventStream(samples: readonly AuditEvent[], prefix: string): () => AuditEvent {
  let n = 0;
  return () => ({ ...samples[n % samples.length]!, requestId: `${prefix}-${n++}`, time: new Date().toISOString() });
}

export async function measureStoreThroughput(backend: AuditBackend, opts: { inFlight: number; seconds: number; next: () => AuditEvent }): Promise<StoreThroughput> {
  const recorder = new RecordingAppender(backend.appender);
  const writer = new AuditWriter({ appender: recorder });
  const waits: number[] = [];
  let failed = 0;
  const deadline = performance.now() + opts.seconds * 1000;
  const caller = async () => {
    while (performance.now() < deadline) {
      const event = opts.next();
      const start = performance.now();
      try {
        await writer.record(event);
        waits.push(performance.now() - start);
      } catch {
        failed++;
      }
    }
  };
  const serverCpu = () => (backend.serverPid ? processTreeCpuSeconds(backend.serverPid) : 0);
  const cpuBefore = process.cpuUsage();
  const serverBefore = serverCpu();
  const started = performance.now();
  await Promise.all(Array.from({ length: opts.inFlight }, caller));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const serverSeconds = serverCpu() - serverBefore;
  await writer.close();

  const records = waits.length;
  const batches = recorder.take();
  const wait = summarize(waits);
  const perRecord = (cpuSeconds: number) => round((cpuSeconds / Math.max(1, records)) * 1e6, 2);
  return {
    backend: backend.name,
    inFlight: opts.inFlight,
    seconds: round(seconds, 2),
    records,
    recordsPerSecond: Math.round(records / seconds),
    failed,
    waitMs: { p50: round(wait.p50, 3), p99: round(wait.p99, 3), max: round(wait.max, 3) },
    batches,
    writeBusyPercent: round((batches.busyMs / (seconds * 1000)) * 100),
    cpuMicrosPerRecord: { benchProcess: perRecord((cpu.user + cpu.system) / 1e6), ...(backend.serverPid ? { server: perRecord(serverSeconds) } : {}) },
  };
}
