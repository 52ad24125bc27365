/**
 * Why: what users feel while the fleet changes under them. During a step of the fleet-rollout
 * benchmark, a paced load of real kubectl requests (a `get configmaps` and a `create configmap`
 * with a unique name, in turn) goes to every member that was serving when the step began,
 * through the edge, a few per second in all; failed requests are counted with the first line
 * of kubectl's stderr. One `kubectl get --watch` per member stays open: a watch that ends is
 * counted as a reconnect the user would need (and is reopened), and every ConfigMap the load
 * created must show up on its member's watches.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { runCommand } from '../dev/process/run-command';
import { eventually } from '../dev/process/streaming-command';
import { round, summarize } from './bench-support';

export interface LoadTarget {
  readonly member: string;
  /** A user's kubeconfig for the member, through the edge. */
  readonly kubeconfig: string;
}

export interface LoadProps {
  readonly kubectl: string;
  readonly targets: readonly LoadTarget[];
  /** Requests per second, in all. */
  readonly ratePerSecond: number;
  /** Starts the names of the ConfigMaps created, which must be unique in each member. */
  readonly namePrefix: string;
  readonly namespace?: string;
}

interface Sent {
  readonly member: string;
  readonly kind: 'get' | 'create';
  readonly atMs: number;
  readonly ms: number;
  readonly ok: boolean;
  readonly error?: string;
}

/** More in flight than this and the machine, not the fleet, is what fails: the tick is skipped and counted. */
const MAX_IN_FLIGHT = 8;
/** How long a ConfigMap the load created may take to show on a watch after the step. */
const WATCH_GRACE_MS = 15_000;

const firstLine = (text: string) => text.split('\n').map((l) => l.trim()).find(Boolean) ?? '(nothing on stderr)';

function countBy(lines: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) out[l] = (out[l] ?? 0) + 1;
  return out;
}

/** One member's watch, reopened whenever it ends until stop(). */
class MemberWatch {
  /** Everything every incarnation printed on stdout. */
  seen = '';
  /** When (Date.now()) each incarnation ended, why, and whether it had been delivering (printed anything) before. */
  readonly ends: { at: number; reason: string; established: boolean }[] = [];
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kubectl: string,
    readonly target: LoadTarget,
    private readonly namespace: string,
  ) {
    this.open();
  }

  private open(): void {
    const child = spawn(this.kubectl, ['--kubeconfig', this.target.kubeconfig, 'get', 'configmaps', '-n', this.namespace, '--watch', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    let established = false;
    child.stdout!.on('data', (d: Buffer) => {
      established = true;
      this.seen += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => (stderr += err.message));
    child.once('close', (code, signal) => {
      if (this.stopping) return;
      this.ends.push({ at: Date.now(), established, reason: stderr.trim() ? firstLine(stderr) : `closed without an error (kubectl ${signal ?? `exit ${code}`}, nothing on stderr)` });
      this.restartTimer = setTimeout(() => this.open(), 1000);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      await closed;
    }
  }
}

export interface LoadFigures {
  readonly members: readonly string[];
  readonly ratePerSecond: number;
  readonly seconds: number;
  readonly requests: number;
  readonly failed: number;
  /** First line of kubectl's stderr → how many requests failed with it. */
  readonly failedBy: Record<string, number>;
  /** Seconds from the step's start to the first and the last failure. */
  readonly failuresFromS: number | null;
  readonly failuresUntilS: number | null;
  readonly byKind: Record<'get' | 'create', { requests: number; failed: number }>;
  readonly latencyMs: { p50: number; p99: number; max: number } | null;
  /** Ticks with too many requests in flight already: not sent. */
  readonly skipped: number;
  readonly watches: {
    readonly streams: number;
    /** Open watches that ended, so that the user had to watch again. */
    readonly reconnects: number;
    /** First stderr line of the ended watches → how many. */
    readonly reconnectsBy: Record<string, number>;
    /** Attempts to watch again that failed before delivering anything (one a second while the path is down). */
    readonly failedReopens: number;
    readonly failedReopensBy: Record<string, number>;
    /** ConfigMaps the load created that never showed on their member's watch. */
    readonly missedEvents: number;
  };
}

/** A running load; stop() ends it and says what happened. */
export class StepLoad {
  private readonly sent: Sent[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly created = new Map<string, string[]>();
  private readonly watches: MemberWatch[];
  private timer: NodeJS.Timeout | undefined;
  /** When the paced requests began: the step's start. */
  private t0 = Date.now();
  private tick = 0;
  private skipped = 0;
  private sequence = 0;

  private constructor(private readonly props: LoadProps) {
    const ns = props.namespace ?? 'default';
    this.watches = props.targets.map((t) => new MemberWatch(props.kubectl, t, ns));
  }

  /** Opens the watches, waits until each has listed what exists, then starts the paced requests. */
  static async start(props: LoadProps): Promise<StepLoad> {
    if (props.targets.length === 0) throw new Error('a load needs at least one serving member');
    const load = new StepLoad(props);
    try {
      await eventually('every load watch to list what exists', async () => (load.watches.every((w) => w.seen.includes('configmap/')) ? true : undefined), 60_000);
    } catch (err) {
      await load.stop();
      throw err;
    }
    // A watch that ended while opening is not the step's doing.
    for (const w of load.watches) w.ends.length = 0;
    load.t0 = Date.now();
    load.timer = setInterval(() => load.send(), 1000 / props.ratePerSecond);
    return load;
  }

  private send(): void {
    if (this.inFlight.size >= MAX_IN_FLIGHT) {
      this.skipped++;
      return;
    }
    const targets = this.props.targets;
    const target = targets[this.tick % targets.length]!;
    const kind: Sent['kind'] = Math.floor(this.tick / targets.length) % 2 === 0 ? 'get' : 'create';
    this.tick++;
    const ns = this.props.namespace ?? 'default';
    const name = `${this.props.namePrefix}-${++this.sequence}`;
    const args = kind === 'get' ? ['get', 'configmaps', '-n', ns, '-o', 'name'] : ['create', 'configmap', name, '-n', ns, '--from-literal=k=v'];
    const atMs = Date.now() - this.t0;
    const p = runCommand(this.props.kubectl, ['--kubeconfig', target.kubeconfig, '--request-timeout=30s', ...args], { timeoutMs: 45_000 })
      .then((r) => {
        const ok = r.code === 0;
        if (ok && kind === 'create') this.created.set(target.member, [...(this.created.get(target.member) ?? []), name]);
        this.sent.push({ member: target.member, kind, atMs, ms: Date.now() - this.t0 - atMs, ok, ...(ok ? {} : { error: firstLine(r.stderr) }) });
      })
      .catch((err: Error) => {
        this.sent.push({ member: target.member, kind, atMs, ms: Date.now() - this.t0 - atMs, ok: false, error: err.message });
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Requests so far and how many failed, for progress lines. */
  get counts(): { requests: number; failed: number; reconnects: number } {
    return { requests: this.sent.length, failed: this.sent.filter((s) => !s.ok).length, reconnects: this.watches.reduce((n, w) => n + w.ends.filter((e) => e.established).length, 0) };
  }

  async stop(): Promise<LoadFigures> {
    clearInterval(this.timer);
    const seconds = (Date.now() - this.t0) / 1000;
    await Promise.all([...this.inFlight]);
    // What was created must reach the watches; give late events a moment.
    const missing = () => this.watches.reduce((n, w) => n + (this.created.get(w.target.member) ?? []).filter((name) => !w.seen.includes(`configmap/${name}\n`)).length, 0);
    const deadline = Date.now() + WATCH_GRACE_MS;
    while (missing() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const missedEvents = missing();
    await Promise.all(this.watches.map((w) => w.stop()));
    const failures = this.sent.filter((s) => !s.ok);
    const latency = summarize(this.sent.filter((s) => s.ok).map((s) => s.ms));
    const kind = (k: Sent['kind']) => ({ requests: this.sent.filter((s) => s.kind === k).length, failed: failures.filter((s) => s.kind === k).length });
    const ends = this.watches.flatMap((w) => w.ends).filter((e) => e.established);
    const failedReopens = this.watches.flatMap((w) => w.ends).filter((e) => !e.established);
    return {
      members: this.props.targets.map((t) => t.member),
      ratePerSecond: this.props.ratePerSecond,
      seconds: round(seconds),
      requests: this.sent.length,
      failed: failures.length,
      failedBy: countBy(failures.map((f) => f.error!)),
      failuresFromS: failures.length ? round(Math.min(...failures.map((f) => f.atMs)) / 1000) : null,
      failuresUntilS: failures.length ? round(Math.max(...failures.map((f) => f.atMs)) / 1000) : null,
      byKind: { get: kind('get'), create: kind('create') },
      latencyMs: latency.n ? { p50: Math.round(latency.p50), p99: Math.round(latency.p99), max: Math.round(latency.max) } : null,
      skipped: this.skipped,
      watches: {
        streams: this.watches.length,
        reconnects: ends.length,
        reconnectsBy: countBy(ends.map((e) => e.reason)),
        failedReopens: failedReopens.length,
        failedReopensBy: countBy(failedReopens.map((e) => e.reason)),
        missedEvents,
      },
    };
  }
}
