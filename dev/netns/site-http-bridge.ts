/**
 * The host side of site-http-worker: one long-lived worker per site, so readiness polls cost
 * a line of JSON each instead of a Node start. Requests are matched to answers by id; a worker
 * that dies fails what is pending and is started again on the next request.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as readline from 'node:readline';
import type { HttpsResponse, TlsClientMaterial } from '../process/https-probe';
import type { PlacedRequestOptions } from '../process/process-placement';
import { compiledEntry } from '../toolchain/compiled-entry';

export interface SiteHttpAsk {
  readonly id: number;
  readonly url: string;
  readonly method?: string;
  readonly json?: unknown;
  readonly tls?: TlsClientMaterial;
  readonly timeoutMs: number;
}

export type SiteHttpAnswer = { readonly id: number; readonly status: number; readonly body: string } | { readonly id: number; readonly error: string };

interface Pending {
  resolve(res: HttpsResponse): void;
  reject(err: Error): void;
}

export class SiteHttpBridge {
  private worker: ChildProcessWithoutNullStreams | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  /** `command` runs a program inside the site: [binary, ...args] for `ip netns exec <ns>`. */
  constructor(private readonly insideCommand: (binary: string, args: readonly string[]) => { binary: string; args: string[] }) {}

  request(url: string, options: PlacedRequestOptions = {}): Promise<HttpsResponse> {
    if (this.closed) return Promise.reject(new Error('the site is gone: no requests can be made inside it'));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const ask: SiteHttpAsk = { id, url, timeoutMs: options.timeoutMs ?? 5_000, ...(options.method ? { method: options.method } : {}), ...(options.json !== undefined ? { json: options.json } : {}), ...(options.tls ? { tls: options.tls } : {}) };
    return new Promise<HttpsResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.stdin.write(`${JSON.stringify(ask)}\n`);
    });
  }

  close(): void {
    this.closed = true;
    this.worker?.stdin.end();
    this.worker?.kill('SIGTERM');
    this.worker = undefined;
    this.failPending(new Error('the site is being destroyed'));
  }

  private ensureWorker(): ChildProcessWithoutNullStreams {
    if (this.worker) return this.worker;
    const { binary, args } = this.insideCommand(process.execPath, [compiledEntry('dev/netns/site-http-worker.js')]);
    const worker = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.worker = worker;
    let stderr = '';
    worker.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    worker.stdin.on('error', () => undefined);
    readline.createInterface({ input: worker.stdout }).on('line', (line) => {
      const answer = JSON.parse(line) as SiteHttpAnswer;
      const p = this.pending.get(answer.id);
      if (!p) return;
      this.pending.delete(answer.id);
      if ('error' in answer) p.reject(new Error(answer.error));
      else p.resolve({ status: answer.status, body: answer.body });
    });
    worker.on('exit', (code, signal) => {
      if (this.worker === worker) this.worker = undefined;
      this.failPending(new Error(`the site's request worker exited (${signal ?? code})${stderr ? `: ${stderr.trim()}` : ''}`));
    });
    return worker;
  }

  private failPending(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
