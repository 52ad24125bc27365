/**
 * Benchmark: what the durable audit decision write costs, against audit to memory only, in one
 * run, on the embedded store (SQLite, synchronous=FULL) and on a real PostgreSQL:
 *
 *   1. store throughput   decision records per second through AuditWriter (group commit) into
 *                         each backend, with 1, 64, 512 … records waiting at once; batch sizes,
 *                         the wait per record, the commit time, CPU per record.
 *   2. added latency      the real ext_authz Check server with the decision write (as the
 *                         control plane composes it) on each backend, driven as Envoy drives
 *                         it, same requests; p50/p99 and what each durable backend adds over
 *                         memory. The edge holds a request until its Check answers, so that is
 *                         what the write adds per request (bench/README.md says why not
 *                         through the Envoy edge).
 *
 * Measures, never passes or fails. Targets from the issue: at least 20k records/s on the
 * embedded store, at most 0.2 ms added per request at p99.
 *
 *   npm run bench:audit -- [--in-flight 1,64,512] [--store-seconds 5] [--check-concurrency 1,16,64]
 *     [--check-seconds 3] [--rounds 3] [--users 1000] [--check-users 200] [--miss-fraction 0.1]
 *     [--backends sqlite,postgres] [--timeout-minutes 15] [--keep-state]
 * Writes bench/results/audit-overhead.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../control-plane/log/logger';
import type { AuditEvent } from '../control-plane/audit/audit-event';
import { DURABLE_BACKENDS, closeAuditBackends, openAuditBackends, type AuditBackend, type DurableBackendName } from './audit-backends';
import { prepareAuditBenchAccess, sampleDecisionEvents } from './audit-bench-access';
import { eventStream, measureStoreThroughput, type StoreThroughput } from './audit-store-throughput';
import { AuditedCheckServer, checkClient, compareCheckLatency, runChecks, type CheckLatencyLevel } from './audit-check-latency';
import { machine, writeResults } from './bench-support';
import { measureFsyncFloor, type FsyncFloor } from './fsync-floor';

const TARGETS = { embeddedStoreRecordsPerSecondAtLeast: 20_000, addedP99MsAtMost: 0.2 } as const;
/** Distinct decision events the store phase cycles through (each written with its own id and time). */
const SAMPLE_EVENTS = 2000;

const progress = createLogger('bench.audit-overhead', { level: 'info' });

function parseFlags() {
  const { values } = parseArgs({
    options: {
      'in-flight': { type: 'string', default: '1,64,512' },
      'store-seconds': { type: 'string', default: '5' },
      'check-concurrency': { type: 'string', default: '1,16,64' },
      'check-seconds': { type: 'string', default: '3' },
      'check-connections': { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      users: { type: 'string', default: '1000' },
      'check-users': { type: 'string', default: '200' },
      'miss-fraction': { type: 'string', default: '0.1' },
      backends: { type: 'string', default: DURABLE_BACKENDS.join(',') },
      'timeout-minutes': { type: 'string', default: '15' },
      'keep-state': { type: 'boolean', default: false },
    },
  });
  const positive = (name: keyof typeof values, whole = true) => {
    const n = Number(values[name]);
    if (!(n > 0) || (whole && !Number.isInteger(n))) throw new Error(`--${name} must be a positive ${whole ? 'whole ' : ''}number, got ${String(values[name])}`);
    return n;
  };
  const levels = (name: 'in-flight' | 'check-concurrency') => {
    const list = values[name]!.split(',').map(Number);
    if (list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--${name} must be a list of positive whole numbers, got ${values[name]}`);
    return list;
  };
  const inFlight = levels('in-flight');
  // The writer refuses records beyond its queue limit (50,000): more callers would measure refusals.
  if (inFlight.some((n) => n > 50_000)) throw new Error('--in-flight: at most 50000 (the AuditWriter queue limit)');
  const missFraction = Number(values['miss-fraction']);
  if (!(missFraction >= 0 && missFraction <= 1)) throw new Error(`--miss-fraction must be from 0 to 1, got ${values['miss-fraction']}`);
  const backends = values.backends!.split(',').filter(Boolean) as DurableBackendName[];
  const unknown = backends.filter((b) => !DURABLE_BACKENDS.includes(b));
  if (unknown.length) throw new Error(`unknown backend(s) ${unknown.join(', ')}; durable backends are ${DURABLE_BACKENDS.join(', ')} (memory is always the baseline)`);
  const users = positive('users');
  return {
    inFlight,
    storeSeconds: positive('store-seconds', false),
    checkLevels: levels('check-concurrency'),
    checkSeconds: positive('check-seconds', false),
    checkConnections: positive('check-connections'),
    rounds: positive('rounds'),
    users,
    checkUsers: Math.min(positive('check-users'), users),
    missFraction,
    backends,
    timeoutMinutes: positive('timeout-minutes', false),
    keepState: values['keep-state']!,
  };
}

type Flags = ReturnType<typeof parseFlags>;

async function storeThroughput(backends: readonly AuditBackend[], samples: readonly AuditEvent[], flags: Flags): Promise<StoreThroughput[]> {
  const results: StoreThroughput[] = [];
  let run = 0;
  for (const backend of backends) {
    // JIT, the store's statement cache and PostgreSQL's buffers warm before anything counts.
    progress.info('store throughput: warming up', { backend: backend.name });
    await measureStoreThroughput(backend, { inFlight: 64, seconds: 1, next: eventStream(samples, `warm-${backend.name}`) });
    for (const inFlight of flags.inFlight) {
      progress.info('store throughput', { backend: backend.name, inFlight, seconds: flags.storeSeconds });
      const r = await measureStoreThroughput(backend, { inFlight, seconds: flags.storeSeconds, next: eventStream(samples, `run-${++run}`) });
      progress.info('store throughput: done', { backend: backend.name, inFlight, recordsPerSecond: r.recordsPerSecond, meanBatch: r.batches.size.mean, waitP99Ms: r.waitMs.p99 });
      results.push(r);
    }
  }
  return results;
}

const verdict = (ok: boolean) => (ok ? 'meets' : 'misses');
/** A write's share of the run; for memory it would only count the callers' own turns on the event loop. */
const busy = (backend: string, percent: number) => (backend === 'memory' ? '-' : `${Math.round(percent)}%`);
const fixed = (v: number | undefined, digits: number) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));

function formatReport(r: { backends: readonly AuditBackend[]; store: readonly StoreThroughput[]; checks: readonly CheckLatencyLevel[]; floor: FsyncFloor; flags: Flags; start: ReturnType<typeof machine>; end: ReturnType<typeof machine> }): string {
  const out: string[] = ['audit-overhead: the durable audit decision write against audit to memory only, in one run', 'backends:'];
  for (const b of r.backends) out.push(`  ${b.name.padEnd(9)} ${b.description}`);
  const targets: string[] = [];

  out.push(
    '',
    `1. store throughput: AuditWriter (group commit) → append, N callers each waiting for its own record, ${r.flags.storeSeconds} s per run     target: >= ${TARGETS.embeddedStoreRecordsPerSecondAtLeast} records/s on the embedded store`,
    `  ${'backend'.padEnd(9)} ${'in flight'.padStart(9)} ${'records/s'.padStart(10)}  ${'wait p50'.padStart(8)} ${'wait p99'.padStart(8)} ms  ${'writes'.padStart(7)}  batch p50/mean/p99/max  write p50/p99 ms  busy  CPU µs/record (this process + db server)  failed`,
  );
  for (const s of r.store) {
    const b = s.batches;
    out.push(
      `  ${s.backend.padEnd(9)} ${String(s.inFlight).padStart(9)} ${String(s.recordsPerSecond).padStart(10)}  ${fixed(s.waitMs.p50, 3).padStart(8)} ${fixed(s.waitMs.p99, 3).padStart(8)}     ${String(b.batches).padStart(7)}  ` +
        `${`${b.size.p50}/${fixed(b.size.mean, 1)}/${b.size.p99}/${b.size.max}`.padEnd(22)}  ${`${fixed(b.writeMs.p50, 3)}/${fixed(b.writeMs.p99, 3)}`.padEnd(16)}  ${busy(s.backend, s.writeBusyPercent).padStart(4)}  ` +
        `${`${s.cpuMicrosPerRecord.benchProcess}${s.cpuMicrosPerRecord.server !== undefined ? ` + ${s.cpuMicrosPerRecord.server}` : ''}`.padEnd(40)}  ${s.failed}`,
    );
  }
  for (const name of r.backends.filter((b) => b.name !== 'memory').map((b) => b.name)) {
    const best = r.store.filter((s) => s.backend === name).reduce<StoreThroughput | undefined>((a, s) => (!a || s.recordsPerSecond > a.recordsPerSecond ? s : a), undefined);
    if (!best) continue;
    const target = name === 'sqlite' ? ` (target >= ${TARGETS.embeddedStoreRecordsPerSecondAtLeast}): ${verdict(best.recordsPerSecond >= TARGETS.embeddedStoreRecordsPerSecondAtLeast)}` : ' (no target; for comparison)';
    targets.push(`${name} store: ${best.recordsPerSecond} records/s sustained, best of the in-flight levels (${best.inFlight} in flight, ${best.batches.size.mean} records per commit)${target}`);
  }

  const c0 = r.checks[0];
  if (c0) {
    out.push(
      '',
      `2. added latency per request: ext_authz Check calls over mTLS HTTP/2 (${r.flags.checkUsers} users, ${r.flags.checkConnections} connections, miss fraction ${r.flags.missFraction}), ` +
        `${r.flags.rounds} round(s) × ${c0.secondsPerRun} s per backend, backends in rotated order     target: <= ${TARGETS.addedP99MsAtMost} ms added at p99`,
    );
  }
  for (const level of r.checks) {
    out.push(`concurrency ${level.concurrency}`);
    for (const b of level.backends) {
      const cpu = b.cpuMicrosPerDecision;
      out.push(
        `  ${b.backend.padEnd(9)} ${String(b.decisionsPerSecond).padStart(6)} decisions/s  p50 ${fixed(b.p50Ms, 3)} ms  p99 ${fixed(b.p99Ms, 3)} ms  (p99 by round ${b.p99MsByRound.map((v) => fixed(v, 3)).join(' ')})  ` +
          `errors ${b.errors}  audit failures ${b.auditFailures}  allowed ${b.allowedPercent}%`,
        `  ${''.padEnd(9)} writes: ${b.meanBatch} records each, p99 ${fixed(b.writeP99Ms, 3)} ms, busy ${busy(b.backend, b.writeBusyPercent)} of the run; ` +
          `CPU µs/decision: control plane ${cpu.controlPlane}${cpu.server !== undefined ? `, db server ${cpu.server}` : ''}, load generator ${cpu.loadGenerator}`,
      );
    }
    for (const [name, added] of Object.entries(level.addedMs)) {
      out.push(`  ${'added'.padEnd(9)} ${name} over memory: p50 ${added.p50 >= 0 ? '+' : ''}${fixed(added.p50, 3)} ms  p99 ${added.p99 >= 0 ? '+' : ''}${fixed(added.p99, 3)} ms`);
      targets.push(`${name}, concurrency ${level.concurrency}: ${fixed(added.p99, 3)} ms added at p99 (target <= ${TARGETS.addedP99MsAtMost} ms): ${verdict(added.p99 <= TARGETS.addedP99MsAtMost)}`);
    }
  }
  out.push(
    '',
    `3. the disk's floor: append 1 KiB + fdatasync, one at a time, ${r.floor.syncs} times in the store's directory: p50 ${fixed(r.floor.ms.p50, 3)} ms  p99 ${fixed(r.floor.ms.p99, 3)} ms  max ${fixed(r.floor.ms.max, 3)} ms`,
    '   a decision written durably before the request goes through cannot add less than one of these',
  );
  out.push('', 'against the targets (reported, never enforced):', ...targets.map((t) => `  ${t}`));
  out.push(
    `machine: ${r.start.cpus} cpus (${r.start.model}), load average at start ${r.start.loadAverage.join(' ')}, at end ${r.end.loadAverage.join(' ')}; ` +
      'the callers, the check servers, SQLite and PostgreSQL share it with the load generator',
  );
  return out.join('\n') + '\n';
}

async function main(): Promise<void> {
  const flags = parseFlags();
  const machineAtStart = machine();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-bench-audit-'));
  // Apart from stateDir: as root, PostgreSQL runs as the postgres user, who cannot enter a
  // directory mkdtemp made for root.
  const postgresDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-bench-audit-postgres-'));
  const removeState = () => {
    if (!flags.keepState) fs.rmSync(stateDir, { recursive: true, force: true });
    // PostgreSQL may still be exiting when this runs on an abort: retry while it removes files.
    fs.rmSync(postgresDir, { recursive: true, force: true, maxRetries: 5 });
  };
  // Exiting kills PostgreSQL (dev/process/managed-process.ts) and any load worker
  // (json-worker.ts), so an interrupted or overlong run leaves no process behind; the state
  // directories go in an exit hook added last, so it runs after those kills.
  const abort = (code: number) => {
    process.once('exit', removeState);
    process.exit(code);
  };
  process.once('SIGINT', () => {
    progress.warn('interrupted: stopping every process');
    abort(130);
  });
  const watchdog = setTimeout(() => {
    progress.error('the run took longer than --timeout-minutes: stopping every process', { minutes: flags.timeoutMinutes });
    abort(2);
  }, flags.timeoutMinutes * 60_000);
  watchdog.unref();

  // Components log warnings and errors only: denials are logged at info, once per request.
  const logger = createLogger('bench', { level: 'warn' });
  const storeFile = path.join(stateDir, 'kubegate.db');
  const servers: AuditedCheckServer[] = [];
  let backends: AuditBackend[] = [];
  try {
    progress.info('preparing users, policies and certificates', { stateDir, users: flags.users, checkUsers: flags.checkUsers, loadAverage: machineAtStart.loadAverage });
    const setup = await prepareAuditBenchAccess({ stateDir, storeFile, users: flags.users, checkUsers: flags.checkUsers });
    const samples = sampleDecisionEvents(setup, SAMPLE_EVENTS);
    progress.info('opening the audit backends', { backends: ['memory', ...flags.backends] });
    backends = await openAuditBackends({ durable: flags.backends, sqliteFile: storeFile, postgresDir, logger });
    for (const b of backends) progress.info('backend', { name: b.name, description: b.description });

    progress.info('measuring the disk\'s fsync floor', { dir: stateDir });
    const floor = measureFsyncFloor(stateDir);
    const store = await storeThroughput(backends, samples, flags);

    for (const b of backends) servers.push(await AuditedCheckServer.start(b, setup, logger));
    const client = checkClient(setup, flags.checkConnections);
    for (const server of servers) {
      progress.info('check servers: warming up', { backend: server.backend.name });
      await runChecks(server, client, { concurrency: 16, seconds: 2, missFraction: flags.missFraction, uniqueStart: 0 });
    }
    const checks = await compareCheckLatency(servers, client, {
      levels: flags.checkLevels,
      rounds: flags.rounds,
      seconds: flags.checkSeconds,
      missFraction: flags.missFraction,
      onRun: (concurrency, round, backend) => progress.info('check latency', { concurrency, round: round + 1, rounds: flags.rounds, backend }),
    });
    const records: Record<string, number> = {};
    for (const b of backends) records[b.name] = await b.records();

    const machineAtEnd = machine();
    process.stdout.write(formatReport({ backends, store, checks, floor, flags, start: machineAtStart, end: machineAtEnd }));
    const file = writeResults('audit-overhead', {
      benchmark: 'audit-overhead',
      when: new Date().toISOString(),
      machine: { ...machineAtStart, loadAverageAtEnd: machineAtEnd.loadAverage },
      flags,
      targets: TARGETS,
      backends: backends.map((b) => ({ name: b.name, description: b.description, ...(b.details ? { details: b.details } : {}), recordsAtEnd: records[b.name] })),
      storeThroughput: {
        how: 'N async callers each hand AuditWriter (default settings) a decision event and wait until it is durable, then the next; per backend, after a 1 s warm-up',
        results: store,
      },
      fsyncFloor: floor,
      checkLatency: {
        how: 'one ext_authz check server per backend (PolicyAuthorizer wrapped by AuditingAuthorizer, as ControlPlane composes it), called over mTLS HTTP/2 by a load worker process with the same requests; backends rotated per round',
        results: checks,
      },
    });
    progress.info('results written', { file });
  } finally {
    for (const s of servers) await s.stop();
    await closeAuditBackends(backends);
    removeState();
    if (flags.keepState) progress.info('state kept', { stateDir });
    clearTimeout(watchdog);
  }
}

main().catch((err) => {
  process.stderr.write(`benchmark failed: ${(err as Error).stack ?? (err as Error).message}\n`);
  process.exitCode = 1;
});
