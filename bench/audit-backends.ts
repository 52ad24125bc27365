/**
 * Where the audit benchmark writes decisions: to memory only (the baseline: the same writer and
 * the same callers, minus the durable store) and to the audit log on each store kubegate
 * supports, opened as the control plane opens it (openAuditLog with the store's URL):
 *
 *   memory     an array, as an in-memory sink would keep events
 *   sqlite     the embedded store's SQLite file, synchronous=FULL in WAL mode (the default)
 *   postgres   a real PostgreSQL on loopback with its durability as shipped (durable-postgres.ts)
 */
import type { AuditEvent } from '../control-plane/audit/audit-event';
import type { AuditLog } from '../control-plane/audit/audit-log';
import type { AuditAppender } from '../control-plane/audit/audit-writer';
import type { Logger } from '../control-plane/log/logger';
import { openAuditLog } from '../control-plane/audit-storage/open-audit-log';
import { startDurablePostgres } from './durable-postgres';

export const DURABLE_BACKENDS = ['sqlite', 'postgres'] as const;
export type DurableBackendName = (typeof DURABLE_BACKENDS)[number];
export type BackendName = 'memory' | DurableBackendName;

export interface AuditBackend {
  readonly name: BackendName;
  /** What it is, for the report. */
  readonly description: string;
  readonly appender: AuditAppender;
  /** A server process that does part of the work (PostgreSQL's postmaster), for CPU figures. */
  readonly serverPid?: number;
  /** Facts worth keeping with the results (the server's durability settings). */
  readonly details?: Readonly<Record<string, string>>;
  /** Events it holds now. */
  records(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Audit to memory only. It keeps what it is given, but only the newest `keep` events: a run
 * of several million records would otherwise grow the heap, and the garbage collector's work
 * on it would be charged to the baseline.
 */
export class MemoryAuditTrail implements AuditAppender {
  private events: AuditEvent[] = [];
  private total = 0;

  constructor(private readonly keep = 100_000) {}

  async append(events: readonly AuditEvent[]): Promise<void> {
    for (const e of events) this.events.push(e);
    this.total += events.length;
    // Trimmed in halves rather than per batch, so trimming costs O(1) per event.
    if (this.events.length >= 2 * this.keep) this.events = this.events.slice(-this.keep);
  }

  get count(): number {
    return this.total;
  }
}

function durableBackend(name: DurableBackendName, description: string, log: AuditLog, extra: Partial<AuditBackend> & { stop?: () => Promise<void> } = {}): AuditBackend {
  const { stop, ...rest } = extra;
  return {
    name,
    description,
    appender: log,
    ...rest,
    records: async () => (await log.head()).seq,
    close: async () => {
      await log.close();
      await stop?.();
    },
  };
}

/**
 * The memory baseline first, then the durable backends asked for. `sqliteFile` is the store's
 * file (the audit log lives beside the records, through a connection of its own);
 * `postgresDir` is created for the server. If one cannot be opened, those already open are
 * closed before the error is thrown.
 */
export async function openAuditBackends(opts: { durable: readonly DurableBackendName[]; sqliteFile: string; postgresDir: string; logger: Logger }): Promise<AuditBackend[]> {
  const memory = new MemoryAuditTrail();
  const backends: AuditBackend[] = [
    { name: 'memory', description: 'memory only (an array; the same AuditWriter, no store)', appender: memory, records: async () => memory.count, close: async () => undefined },
  ];
  try {
    if (opts.durable.includes('sqlite')) {
      const log = await openAuditLog(`sqlite:${opts.sqliteFile}`, { logger: opts.logger.child('sqlite-audit') });
      backends.push(durableBackend('sqlite', `SQLite ${opts.sqliteFile} (the store's file), WAL, synchronous=FULL`, log));
    }
    if (opts.durable.includes('postgres')) {
      const server = await startDurablePostgres(opts.postgresDir, opts.logger.child('postgres'));
      let log: AuditLog;
      try {
        log = await openAuditLog(server.url, { logger: opts.logger.child('postgres-audit') });
      } catch (err) {
        await server.stop();
        throw err;
      }
      const s = server.settings;
      const description = `PostgreSQL ${s.server_version} on loopback, fsync=${s.fsync}, synchronous_commit=${s.synchronous_commit}, full_page_writes=${s.full_page_writes}, wal_sync_method=${s.wal_sync_method}`;
      backends.push(durableBackend('postgres', description, log, { serverPid: server.pid, details: s, stop: () => server.stop() }));
    }
  } catch (err) {
    await closeAuditBackends(backends);
    throw err;
  }
  return backends;
}

/** Closes every backend, each even if another fails; rethrows the first failure. */
export async function closeAuditBackends(backends: readonly AuditBackend[]): Promise<void> {
  const results = await Promise.allSettled(backends.map((b) => b.close()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
