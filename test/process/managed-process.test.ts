/**
 * ManagedProcess and waitForReady with real child processes (this Node binary running small
 * scripts), covering each way a process can end.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManagedProcess } from '../../dev/process/managed-process';
import { waitForReady } from '../../dev/process/wait-for-ready';
import { ProcessExitedError, ReadinessTimeoutError } from '../../dev/process/errors';
import { readLogTail } from '../../dev/process/log-tail';
import { isRunning, waitUntil } from '../support/process-table';

jest.setTimeout(30_000);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-managed-process-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function startNode(script: string, stopTimeoutMs?: number): ManagedProcess {
  return ManagedProcess.start({ component: 'worker', binary: process.execPath, args: ['-e', script], logFile: path.join(dir, 'logs', 'worker.log'), stopTimeoutMs });
}

/**
 * Ready once the child has printed its ready line: by then its signal handlers are installed.
 * The line is assembled at run time, since the log's header repeats the script's text.
 */
const PRINT_READY = 'console.log(["child", "ready"].join("-"));';
function printedReady(proc: ManagedProcess) {
  return waitForReady({ process: proc, url: 'log', timeoutMs: 10_000, intervalMs: 20, check: async () => (readLogTail(proc.logFile).includes('child-ready') ? null : 'not yet') });
}

const RUN_FOREVER = 'setInterval(() => {}, 1000);';

test('an exit during startup rejects with ProcessExitedError carrying exit code and log tail', async () => {
  const proc = startNode('console.log("line one"); console.error("fatal: no config"); process.exit(3);');
  const err = await waitForReady({ process: proc, url: 'http://x/ready', timeoutMs: 10_000, check: async () => 'not ready' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProcessExitedError);
  const exited = err as ProcessExitedError;
  expect(exited).toMatchObject({ code: 'ERR_PROCESS_EXITED', component: 'worker', exitCode: 3, signal: null, logFile: proc.logFile });
  // stdout and stderr both land in the log.
  expect(exited.logTail).toContain('line one');
  expect(exited.logTail).toContain('fatal: no config');
  expect(exited.message).toMatch(/worker exited with code 3; log .*worker\.log, last lines:\n/);
});

test('a binary that cannot be run at all ends as "could not be started", with the reason in its log', async () => {
  const binary = path.join(dir, 'does-not-exist');
  const proc = ManagedProcess.start({ component: 'ghost', binary, args: [], logFile: path.join(dir, 'ghost.log') });
  expect(await proc.exited).toEqual({ exitCode: null, signal: null });
  const err = proc.exitedError();
  expect(err.message).toMatch(/^ghost could not be started; log /);
  expect(err.logTail).toContain(`failed to start ${binary}`);
  expect(err.logTail).toContain('ENOENT');
  expect(await proc.stop()).toEqual({ exitCode: null, signal: null });
});

test('a process that stays up but never becomes ready gives ReadinessTimeoutError, and keeps running', async () => {
  const proc = startNode(`console.log("listening nowhere"); ${RUN_FOREVER}`);
  try {
    const started = Date.now();
    const err = await waitForReady({ process: proc, url: 'http://127.0.0.1:1/ready', timeoutMs: 500, intervalMs: 50, check: async () => 'connection refused' }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(err).toBeInstanceOf(ReadinessTimeoutError);
    expect(err).toMatchObject({ code: 'ERR_READINESS_TIMEOUT', component: 'worker', url: 'http://127.0.0.1:1/ready', timeoutMs: 500, lastProblem: 'connection refused' });
    expect((err as Error).message).toContain('connection refused');
    expect(proc.exit).toBeUndefined();
  } finally {
    await proc.stop();
  }
});

test('a check that throws counts as not ready, with its message kept', async () => {
  const proc = startNode(RUN_FOREVER);
  try {
    const err = await waitForReady({ process: proc, url: 'u', timeoutMs: 200, check: () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:9')) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ lastProblem: 'ECONNREFUSED 127.0.0.1:9' });
  } finally {
    await proc.stop();
  }
});

test('stop() ends a cooperative process with SIGTERM', async () => {
  const proc = startNode(`${PRINT_READY} ${RUN_FOREVER}`);
  await printedReady(proc);
  const pid = proc.pid!;
  const exit = await proc.stop();
  expect(exit).toEqual({ exitCode: null, signal: 'SIGTERM' });
  expect(isRunning(pid)).toBe(false);
});

test('stop() sends SIGKILL to a process that ignores SIGTERM, and stopping twice is harmless', async () => {
  const proc = startNode(`process.on("SIGTERM", () => console.log("ignoring", "SIGTERM")); ${PRINT_READY} ${RUN_FOREVER}`, 300);
  await printedReady(proc);
  const pid = proc.pid!;
  const [first, second] = await Promise.all([proc.stop(), proc.stop()]);
  expect(first).toEqual({ exitCode: null, signal: 'SIGKILL' });
  expect(second).toBe(first);
  expect(await proc.stop()).toBe(first);
  expect(readLogTail(proc.logFile).split('\n')).toContain('ignoring SIGTERM');
  expect(isRunning(pid)).toBe(false);
});

test('stop() after the process already ended returns how it ended', async () => {
  const proc = startNode('process.exit(0)');
  await proc.exited;
  expect(await proc.stop()).toEqual({ exitCode: 0, signal: null });
});

test('the log is appended to across starts, with a header per start', async () => {
  const first = startNode('console.log("first run")');
  await first.exited;
  const second = startNode('console.log("second run")');
  await second.exited;
  const log = fs.readFileSync(second.logFile, 'utf8');
  expect(log).toMatch(/^==== .*\nfirst run\n==== .*\nsecond run\n$/);
});

test('children are killed when the parent process exits', async () => {
  // A separate Node process owns a ManagedProcess and exits without stopping it. It loads the
  // TypeScript module through the compiler, as the module is not built for this test.
  const root = path.resolve(__dirname, '../..');
  const parentScript = `
    const fs = require('fs');
    const ts = require(${JSON.stringify(require.resolve('typescript'))});
    require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'), { compilerOptions: { module: 1, target: 9, esModuleInterop: true } }).outputText, f);
    const { ManagedProcess } = require(${JSON.stringify(path.join(root, 'dev/process/managed-process.ts'))});
    const child = ManagedProcess.start({ component: 'orphan', binary: process.execPath, args: ['-e', ${JSON.stringify(RUN_FOREVER)}], logFile: ${JSON.stringify(path.join(dir, 'orphan.log'))} });
    console.log(child.pid);
    setTimeout(() => process.exit(0), 200);
  `;
  const parent = spawn(process.execPath, ['-e', parentScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise((resolve) => parent.once('close', resolve));
  expect(code).toBe(0);
  const childPid = Number(out.trim());
  expect(childPid).toBeGreaterThan(0);
  expect(await waitUntil(() => !isRunning(childPid), 5_000)).toBe(true);
});
