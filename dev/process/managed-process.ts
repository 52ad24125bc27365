/**
 * A child process the harness owns: its stdout and stderr go straight to a log file (the child
 * writes to the file descriptor itself, so nothing is lost if this process is busy or dies),
 * an unexpected exit is noticed, and stopping is graceful first and forceful after a timeout.
 * Children are also killed when this process exits, so a crashed test run leaves no etcd or
 * kube-apiserver behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProcessExitedError } from './errors';
import { readLogTail } from './log-tail';
import { silentLogger, type Logger } from '../../control-plane/log/logger';

export interface ProcessExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ManagedProcessProps {
  /** Name used in logs and errors, e.g. 'etcd'. */
  readonly component: string;
  readonly binary: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended here; the directory is created if needed. */
  readonly logFile: string;
  /** @default silentLogger */
  readonly logger?: Logger;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** How long stop() waits after SIGTERM before it sends SIGKILL. @default 10000 */
  readonly stopTimeoutMs?: number;
}

// One 'exit' listener for all children rather than one each, so starting many processes does
// not trip Node's max-listeners warning. 'exit' handlers must be synchronous: kill() is.
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
}

function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    process.on('exit', killAllOnExit);
    exitHookInstalled = true;
  }
  liveChildren.add(child);
}

export class ManagedProcess {
  readonly component: string;
  readonly logFile: string;
  /** Resolves when the process has ended, for whatever reason. Never rejects. */
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private readonly logger: Logger;
  private readonly stopTimeoutMs: number;
  private exitStatus: ProcessExit | undefined;
  private stopping: Promise<ProcessExit> | undefined;

  /** Spawns the process. It is running (or has already failed) when this returns. */
  static start(props: ManagedProcessProps): ManagedProcess {
    return new ManagedProcess(props);
  }

  private constructor(props: ManagedProcessProps) {
    this.component = props.component;
    this.logFile = props.logFile;
    this.logger = props.logger ?? silentLogger;
    this.stopTimeoutMs = props.stopTimeoutMs ?? 10_000;

    fs.mkdirSync(path.dirname(props.logFile), { recursive: true });
    // A header per start: the log is appended to, so restarts in one state dir stay readable.
    fs.appendFileSync(props.logFile, `==== ${new Date().toISOString()} ${props.binary} ${props.args.join(' ')}\n`);
    const fd = fs.openSync(props.logFile, 'a');
    try {
      // detached: false keeps the child in our process group, so a Ctrl-C in a terminal
      // reaches it too.
      this.child = spawn(props.binary, [...props.args], {
        stdio: ['ignore', fd, fd],
        env: props.env ?? process.env,
        detached: false,
      });
    } finally {
      // The child holds its own copy of the descriptor.
      fs.closeSync(fd);
    }
    track(this.child);

    this.exited = new Promise<ProcessExit>((resolve) => {
      const finish = (exit: ProcessExit) => {
        if (this.exitStatus) return;
        this.exitStatus = exit;
        liveChildren.delete(this.child);
        resolve(exit);
      };
      this.child.once('exit', (exitCode, signal) => finish({ exitCode, signal }));
      // 'error' without 'exit' means the process never ran (e.g. EACCES, EAGAIN).
      this.child.once('error', (err) => {
        if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) return;
        fs.appendFileSync(props.logFile, `failed to start ${props.binary}: ${err.message}\n`);
        finish({ exitCode: null, signal: null });
      });
    });
    void this.exited.then((exit) => {
      if (this.stopping) return;
      this.logger.warn('process exited unexpectedly', { pid: this.child.pid, exitCode: exit.exitCode, signal: exit.signal, logFile: this.logFile });
    });
    this.logger.info('process started', { pid: this.child.pid, binary: props.binary, logFile: props.logFile });
  }

  /** The operating system process id; undefined only if the spawn itself failed. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How the process ended, or undefined while it runs. */
  get exit(): ProcessExit | undefined {
    return this.exitStatus;
  }

  /** The error describing this process's end, with the tail of its log. */
  exitedError(): ProcessExitedError {
    const exit = this.exitStatus ?? { exitCode: null, signal: null };
    return new ProcessExitedError(this.component, exit.exitCode, exit.signal, this.logFile, readLogTail(this.logFile));
  }

  /** SIGTERM, then SIGKILL after stopTimeoutMs. Safe to call any number of times. */
  stop(): Promise<ProcessExit> {
    this.stopping ??= this.terminate();
    return this.stopping;
  }

  private async terminate(): Promise<ProcessExit> {
    if (this.exitStatus) return this.exitStatus;
    const pid = this.child.pid;
    this.logger.info('stopping process', { pid });
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.stopTimeoutMs);
    });
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') {
      this.logger.info('process stopped', { pid, exitCode: first.exitCode, signal: first.signal });
      return first;
    }
    this.logger.warn('process ignored SIGTERM; sending SIGKILL', { pid, waitedMs: this.stopTimeoutMs });
    this.child.kill('SIGKILL');
    const exit = await this.exited;
    this.logger.info('process killed', { pid, signal: exit.signal });
    return exit;
  }
}
