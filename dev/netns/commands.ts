/**
 * The system tools a site is built with (iproute2's `ip`, iptables' `iptables`,
 * `iptables-restore` and their IPv6 twins), found once by absolute path, and a runner that
 * turns their failures into errors carrying the command line and its stderr.
 */
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NetnsCommandError, NotRootError, ToolMissingError } from './errors';
import { isExecutable } from '../process/is-executable';

export interface NetworkTools {
  readonly ip: string;
  readonly iptables: string;
  readonly iptablesRestore: string;
  readonly ip6tables: string;
  readonly ip6tablesRestore: string;
}

const TOOLS: ReadonlyArray<[keyof NetworkTools, string, string]> = [
  ['ip', 'ip', 'iproute2'],
  ['iptables', 'iptables', 'iptables'],
  ['iptablesRestore', 'iptables-restore', 'iptables'],
  ['ip6tables', 'ip6tables', 'iptables'],
  ['ip6tablesRestore', 'ip6tables-restore', 'iptables'],
];

/** PATH plus the sbin directories, which a non-login root shell may not have on its PATH. */
export function defaultSearchPath(): string {
  return [process.env.PATH ?? '', '/usr/sbin', '/sbin', '/usr/bin', '/bin'].filter(Boolean).join(':');
}

/** Resolves every tool to an absolute path, or throws ToolMissingError naming the first missing. */
export function resolveNetworkTools(searchPath = defaultSearchPath()): NetworkTools {
  const dirs = [...new Set(searchPath.split(':').filter(Boolean))];
  const found: Partial<Record<keyof NetworkTools, string>> = {};
  for (const [key, binary, debianPackage] of TOOLS) {
    const hit = dirs.map((d) => path.join(d, binary)).find(isExecutable);
    if (!hit) throw new ToolMissingError(binary, debianPackage, dirs);
    found[key] = hit;
  }
  return found as NetworkTools;
}


export function assertRoot(euid = process.geteuid?.() ?? -1): void {
  if (euid !== 0) throw new NotRootError(euid);
}

export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool to completion; rejects with NetnsCommandError on a non-zero exit. */
export function runTool(binary: string, args: readonly string[], input?: string): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = execFile(binary, [...args], { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof err.code === 'number' ? err.code : null;
        reject(new NetnsCommandError(formatCommand(binary, args), code, stderr || err.message));
        return;
      }
      resolve({ stdout, stderr });
    });
    // A tool that exits without reading stdin must not turn into an EPIPE crash.
    child.stdin?.on('error', () => undefined);
    if (input === undefined) child.stdin?.end();
    else child.stdin?.end(input);
  });
}

/** The synchronous twin, for the process 'exit' hook, where nothing asynchronous runs. Never throws. */
export function runToolSync(binary: string, args: readonly string[]): CommandOutput & { ok: boolean } {
  const r = spawnSync(binary, [...args], { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function formatCommand(binary: string, args: readonly string[]): string {
  return [path.basename(binary), ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}
