/**
 * CPU time of a process and everything below it. PostgreSQL does its work in one backend
 * process per connection, forked by the postmaster, so the postmaster's own figure
 * (bench/process-cpu.ts) says almost nothing about what the database spent.
 */
import * as fs from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface ProcStat {
  readonly ppid: number;
  /** utime + stime of the process itself. */
  readonly ownTicks: number;
  /** cutime + cstime: children that have exited and been waited for. */
  readonly reapedTicks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone between listing /proc and reading it
  }
  // The command name is in parentheses and may hold spaces; the fields after it are fixed
  // (stat(5)): state, ppid, …, utime (14th field), stime, cutime, cstime.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), ownTicks: Number(f[11]) + Number(f[12]), reapedTicks: Number(f[13]) + Number(f[14]) };
}

/**
 * Seconds of CPU spent by `root`, its live descendants, and descendants that already exited
 * (counted in their parent's cutime/cstime once reaped). A descendant that exits between two
 * samples moves from "live" to "reaped" in its parent, so the sum stays continuous.
 */
export function processTreeCpuSeconds(root: number): number {
  const stats = new Map<number, ProcStat>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = readStat(Number(entry));
    if (s) stats.set(Number(entry), s);
  }
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(pid);
    children.set(s.ppid, list);
  }
  let ticks = 0;
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    const s = stats.get(pid);
    if (!s) continue;
    ticks += s.ownTicks + s.reapedTicks;
    pending.push(...(children.get(pid) ?? []));
  }
  return ticks / TICKS_PER_SECOND;
}
