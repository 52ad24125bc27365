/**
 * Runs a compiled bench script in a process of its own, its input as JSON on stdin and its
 * result as JSON on stdout: a load generator must not share an event loop (or, on two cores,
 * a core) with what it measures. Workers still running when this process exits are killed, so
 * an interrupted benchmark leaves none behind.
 */
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
let exitHook = false;

export function runJsonWorker<Input, Output>(script: string, input: Input): Promise<Output> {
  if (!exitHook) {
    process.on('exit', () => running.forEach((c) => c.kill('SIGKILL')));
    exitHook = true;
  }
  return new Promise<Output>((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
    running.add(child);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.once('error', (err) => {
      running.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      running.delete(child);
      if (code !== 0) {
        reject(new Error(`${path.basename(script)} ended with ${signal ?? `exit code ${code}`}`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Output);
      } catch (err) {
        reject(new Error(`${path.basename(script)} printed no JSON result: ${(err as Error).message}`));
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}
