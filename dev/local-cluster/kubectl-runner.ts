/**
 * Runs the toolchain's kubectl against one kubeconfig and collects what it printed. A non-zero
 * exit is a result, not an exception: tests assert on refusals (Forbidden) as much as on
 * successes.
 */
import { spawn } from 'node:child_process';
import { BinaryMissingError } from './errors';
import { HOST_PLACEMENT, type ProcessPlacement } from '../process/process-placement';

export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
  /** kubectl's exit code; null if it was killed (see KubectlOptions.timeoutMs). */
  readonly code: number | null;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin, e.g. manifests for `apply -f -`. @default nothing */
  readonly input?: string;
  /** kubectl is killed after this long. @default 60000 */
  readonly timeoutMs?: number;
  /** Where kubectl runs: a firewalled cluster's admin works from inside its site. @default HOST_PLACEMENT */
  readonly placement?: ProcessPlacement;
}

export function runKubectl(binary: string, kubeconfigPath: string, args: readonly string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    // --kubeconfig wins over $KUBECONFIG, so the caller's own environment cannot redirect it.
    const command = (options.placement ?? HOST_PLACEMENT).command(binary, ['--kubeconfig', kubeconfigPath, ...args]);
    const child = spawn(command.binary, command.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    // Our own timer rather than spawn's `timeout` option: that one is not cleared when the
    // spawn itself fails, and would keep the caller's event loop alive for the full timeout.
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' || err.code === 'EACCES' ? new BinaryMissingError('kubectl', binary, err.code === 'EACCES' ? 'is not executable' : 'does not exist') : err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code });
    });
    // kubectl may exit before reading stdin (e.g. a bad flag); that EPIPE is not the error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
