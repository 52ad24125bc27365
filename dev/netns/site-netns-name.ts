/**
 * How this harness names its network namespaces, `kubegate-<site>-<pid>-<process start time>`,
 * and what the name tells later: whose it is and whether that process is gone. Creation, the
 * support probe and the cleanup of crashed runs all depend on the one scheme, so it lives here.
 */
import * as fs from 'node:fs';

/** Every namespace this harness creates starts with this. */
export const NETNS_PREFIX = 'kubegate-';

const NETNS_PATTERN = /^kubegate-(.+)-(\d+)-([0-9a-z]+)$/;

function processStartTime(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..."; comm may contain spaces and parentheses. starttime is field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** `<pid>-<start time in clock ticks, base 36>`: names this process uniquely, even across pid reuse. */
export function ownerTag(pid = process.pid): string {
  return `${pid}-${(processStartTime(pid) ?? 0).toString(36)}`;
}

/** The owner of a namespace this harness named, or undefined for any other namespace. */
export function parseSiteNetns(netns: string): { site: string; pid: number; startTime: string } | undefined {
  const m = NETNS_PATTERN.exec(netns);
  return m ? { site: m[1]!, pid: Number(m[2]), startTime: m[3]! } : undefined;
}

/** True when the process that created `netns` is gone (its pid is dead or now belongs to another process). */
export function isStaleSiteNetns(netns: string): boolean {
  const owner = parseSiteNetns(netns);
  if (!owner) return false;
  return ownerTag(owner.pid) !== `${owner.pid}-${owner.startTime}`;
}
