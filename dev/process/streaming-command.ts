/**
 * Long-running commands (kubectl attach, port-forward, get -w, logs -f) whose output a caller
 * reads as it comes, and a poll-until helper for what they and the clusters do eventually.
 * In the harness so that tests, the fleet lab (dev/fleet/) and the benchmarks share one.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Polls `fn` (every `everyMs`) until it returns a value, or fails with the last problem after `timeoutMs`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export interface Streaming {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code once the command has ended by itself. */
  readonly exited: Promise<number | null>;
  /** Ends the command (SIGTERM) unless it already ended. */
  stop(): Promise<void>;
}

export function streamCommand(command: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; stdin?: boolean } = {}): Streaming {
  const child = spawn(command, args, { env: opts.env ?? process.env, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => out,
    waitFor: (pattern, timeoutMs = 30_000) =>
      eventually(`${command} ${args.join(' ')} printing ${pattern} (output so far: ${JSON.stringify(out.slice(-2000))})`, async () => out.match(pattern) ?? undefined, timeoutMs),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
