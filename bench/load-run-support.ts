/**
 * HTTPS load runs in a separate process (bench/load-worker.ts) with the CPU time of every
 * process of interest sampled around each run, and rounds combined into one figure per side:
 * the same method as bench/edge-overhead.ts, for benchmarks that compare two edges.
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
