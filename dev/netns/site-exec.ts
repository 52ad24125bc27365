/**
 * Running one command to completion and collecting its output, with a timeout that kills it:
 * what FirewalledSite.exec() does once it has the `ip netns exec` command line. Its own file so
 * the site class is about the namespace, not about child-process plumbing.
 */
import { spawn as spawnChild } from 'node:child_process';

export interface ExecOptions {
  /** The process is killed (SIGKILL) after this long. @default 30000 */
  readonly timeoutMs?: number;
  /** Written to its stdin, which is then closed. @default '' */
  readonly input?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Runs `binary args` and resolves with its output and exit; never rejects for a non-zero exit. */
export function runToCompletion(binary: string, args: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawnChild(binary, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
