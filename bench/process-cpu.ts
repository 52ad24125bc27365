/**
 * CPU time of processes from /proc/<pid>/stat (user + system), so a benchmark can say which
 * process the time per request went to, not only how long requests took.
 */
import * as fs from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", utime and stime are fields 12 and 13 of stat(5), i.e. index 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export type CpuSample = Record<string, number>;

export function sampleCpu(pids: Record<string, number>): CpuSample {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
}

/** Microseconds of CPU per request for each process between two samples. */
export function cpuPerRequest(before: CpuSample, after: CpuSample, requests: number): Record<string, number> {
  return Object.fromEntries(Object.keys(before).map((k) => [k, Math.round(((after[k]! - before[k]!) / Math.max(1, requests)) * 1e6)]));
}
