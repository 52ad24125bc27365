/**
 * HTTPS load runs in a separate process (bench/load-worker.ts) with the CPU time of every
 * process of interest sampled around each run, and rounds combined into one figure per side:
 * the method every benchmark that compares a path with its baseline uses.
 */
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { LoadResult, LoadTarget } from './load';
import { cpuPerRequest, sampleCpu } from './process-cpu';

export type WorkerResult = LoadResult & { loadGeneratorCpuSeconds: number };
export type Measured = WorkerResult & { cpuMicrosPerRequest: Record<string, number> };

/** One load run in a separate process (bench/load-worker.ts). */
export function runLoadWorker(target: LoadTarget, opts: { concurrency: number; requests: number }): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'load-worker.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as WorkerResult) : reject(new Error(`load worker exited with ${code}`))));
    child.stdin.end(JSON.stringify({ target, ...opts }));
  });
}

export async function measureLoad(target: LoadTarget, pids: Record<string, number>, opts: { concurrency: number; requests: number }): Promise<Measured> {
  const before = sampleCpu(pids);
  const r = await runLoadWorker(target, opts);
  const cpu = cpuPerRequest(before, sampleCpu(pids), r.requests);
  cpu['load-generator'] = Math.round((r.loadGeneratorCpuSeconds / Math.max(1, r.requests)) * 1e6);
  return { ...r, cpuMicrosPerRequest: cpu };
}

export interface Combined {
  readonly name: string;
  readonly rounds: number;
  readonly requests: number;
  readonly errors: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMicrosPerRequest: Record<string, number>;
}

/** Means over rounds (each round's p50/p99 is its own percentile). */
export function combineRuns(name: string, runs: readonly Measured[]): Combined {
  const mean = (f: (r: Measured) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  const cpu: Record<string, number> = {};
  for (const k of Object.keys(runs[0]!.cpuMicrosPerRequest)) cpu[k] = Math.round(mean((r) => r.cpuMicrosPerRequest[k]!));
  return {
    name,
    rounds: runs.length,
    requests: runs.reduce((s, r) => s + r.requests, 0),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    requestsPerSecond: mean((r) => r.requestsPerSecond),
    p50Ms: mean((r) => r.p50Ms),
    p99Ms: mean((r) => r.p99Ms),
    cpuMicrosPerRequest: cpu,
  };
}

export function formatCombined(r: Combined, width = 9): string {
  return `  ${r.name.padEnd(width)} ${r.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2).padStart(6)} ms  p99 ${r.p99Ms.toFixed(2).padStart(6)} ms  errors ${r.errors}  cpu µs/req ${JSON.stringify(r.cpuMicrosPerRequest)}`;
}

/** Requests per round at a concurrency: fewer at 1, where each one waits for the last. */
export function requestsAt(concurrency: number, requests: number): number {
  return concurrency === 1 ? Math.max(200, Math.round(requests / 3)) : requests;
}

/** A path measured against its baseline in the same rounds. */
export interface Comparison {
  readonly concurrency: number;
  readonly requestsPerRound: number;
  readonly baseline: Combined;
  readonly subject: Combined;
  /** subject / baseline */
  readonly ratios: { readonly throughput: number; readonly p50: number; readonly p99: number };
  /** subject - baseline */
  readonly addedMs: { readonly p50: number; readonly p99: number };
}

/**
 * Measures `baseline` and `subject` round by round, alternating which goes first so that a
 * drift in the machine's load favours neither.
 */
export async function compareLoad(
  baseline: LoadTarget,
  subject: LoadTarget,
  pids: Record<string, number>,
  opts: { concurrency: number; requests: number; rounds: number; onRound?: (round: number) => void },
): Promise<Comparison> {
  const baselineRuns: Measured[] = [];
  const subjectRuns: Measured[] = [];
  const load = { concurrency: opts.concurrency, requests: opts.requests };
  for (let i = 0; i < opts.rounds; i++) {
    opts.onRound?.(i);
    if (i % 2 === 0) {
      baselineRuns.push(await measureLoad(baseline, pids, load));
      subjectRuns.push(await measureLoad(subject, pids, load));
    } else {
      subjectRuns.push(await measureLoad(subject, pids, load));
      baselineRuns.push(await measureLoad(baseline, pids, load));
    }
  }
  const b = combineRuns(baseline.name, baselineRuns);
  const s = combineRuns(subject.name, subjectRuns);
  return {
    concurrency: opts.concurrency,
    requestsPerRound: opts.requests,
    baseline: b,
    subject: s,
    ratios: { throughput: s.requestsPerSecond / b.requestsPerSecond, p50: s.p50Ms / b.p50Ms, p99: s.p99Ms / b.p99Ms },
    addedMs: { p50: s.p50Ms - b.p50Ms, p99: s.p99Ms - b.p99Ms },
  };
}

/** The baseline's line, the subject's line and the ratio line. */
export function formatComparison(c: Comparison, width = 9): string[] {
  return [
    formatCombined(c.baseline, width),
    formatCombined(c.subject, width),
    `  ${'ratio'.padEnd(width)} throughput ${c.ratios.throughput.toFixed(3)}  p50 ${c.ratios.p50.toFixed(2)}x  p99 ${c.ratios.p99.toFixed(2)}x   added p50 ${c.addedMs.p50.toFixed(3)} ms  p99 ${c.addedMs.p99.toFixed(3)} ms`,
  ];
}
