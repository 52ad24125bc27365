/**
 * Many Kubernetes watches held open at once by one client, multiplexed over HTTP/2 as an
 * informer-based client (kubectl, a controller, a dashboard) holds them: every watch is a
 * stream, and `perConnection` streams share one TLS connection. Each watch's events are parsed
 * as they arrive, so a benchmark can tell when every watch has seen a given object and how long
 * that took.
 */
import * as http2 from 'node:http2';
import { inParallel, waitFor } from './bench-support';

export interface WatchClient {
  /** https://host:port */
  readonly origin: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** TLS server name (the user's endpoint at the edge). */
  readonly servername: string;
}

export interface WatchFleetOptions {
  readonly count: number;
  readonly perConnection: number;
  /** Watches being opened at once: every open is an authorization check and a new upstream watch. */
  readonly openConcurrency: number;
  /** For one watch to answer 200. @default 60000 */
  readonly openTimeoutMs?: number;
  readonly onProgress?: (opened: number) => void;
}

interface Watch {
  readonly stream: http2.ClientHttp2Stream;
  /** Object name → when (performance.now()) the watch first saw an event for it. */
  readonly seen: Map<string, number>;
  pending: string;
  closed: boolean;
}

export class WatchFleet {
  private readonly sessions: http2.ClientHttp2Session[] = [];
  private readonly watches: Watch[] = [];
  /** Watch events of type ERROR (e.g. 410 Gone), which a healthy run has none of. */
  errorEvents = 0;
  /** Why not every watch asked for could be opened; undefined when all were. */
  failure: string | undefined;

  private constructor(
    private readonly client: WatchClient,
    private readonly path: string,
  ) {}

  /**
   * Opens `count` watches of `path` (a watch URL path with its query), resolving once each one
   * answered 200, or, after the first one that did not, once those already being opened have:
   * a benchmark wants to know how many a path takes and what the open ones cost, so the fleet
   * keeps the watches that opened and says in `failure` why the rest did not.
   */
  static async open(client: WatchClient, path: string, opts: WatchFleetOptions): Promise<WatchFleet> {
    const fleet = new WatchFleet(client, path);
    let opened = 0;
    await inParallel(opts.count, opts.openConcurrency, async (i) => {
      await fleet.openOne(fleet.session(Math.floor(i / opts.perConnection)), opts.openTimeoutMs ?? 60_000);
      opened++;
      if (opened % 100 === 0 || opened === opts.count) opts.onProgress?.(opened);
    }).catch((err: Error) => (fleet.failure = `${opened} of ${opts.count} watches opened, then: ${err.message}`));
    return fleet;
  }

  get connections(): number {
    return this.sessions.length;
  }

  /** Watches that answered 200, open or since closed. */
  get opened(): number {
    return this.watches.length;
  }

  /** Watches open now. */
  get open(): number {
    return this.watches.filter((w) => !w.closed).length;
  }

  /**
   * Waits until every open watch has seen an event for object `name`; returns each watch's
   * delay from `since` (performance.now()), and how many had not seen it within the timeout.
   */
  async seenByAll(name: string, since: number, timeoutMs: number): Promise<{ delaysMs: number[]; missing: number }> {
    const live = () => this.watches.filter((w) => !w.closed);
    await waitFor(() => live().every((w) => w.seen.has(name)), timeoutMs, `every watch sees ${name}`, 20).catch(() => undefined);
    const watches = live();
    const delaysMs = watches.filter((w) => w.seen.has(name)).map((w) => w.seen.get(name)! - since);
    return { delaysMs, missing: watches.length - delaysMs.length };
  }

  close(): void {
    for (const s of this.sessions) s.destroy();
  }

  /** The i-th HTTP/2 connection, made when first needed. */
  private session(i: number): http2.ClientHttp2Session {
    let s = this.sessions[i];
    if (!s) {
      const { origin, caPem, certPem, keyPem, servername } = this.client;
      s = http2.connect(origin, { ca: caPem, cert: certPem, key: keyPem, servername });
      // A connection error also fails its streams, which is where it is reported.
      s.on('error', () => undefined);
      this.sessions[i] = s;
    }
    return s;
  }

  private openOne(session: http2.ClientHttp2Session, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'GET', ':path': this.path, accept: 'application/json', 'user-agent': 'kubegate-bench/tunnel-overhead' });
      const watch: Watch = { stream, seen: new Map(), pending: '', closed: false };
      const timer = setTimeout(() => reject(new Error(`a watch did not answer within ${timeoutMs} ms`)), timeoutMs);
      stream.setEncoding('utf8');
      stream.on('response', (headers) => {
        clearTimeout(timer);
        const status = Number(headers[':status']);
        if (status !== 200) {
          let body = '';
          stream.on('data', (d: string) => (body += d));
          stream.on('end', () => reject(new Error(`watch answered ${status}: ${body.slice(0, 300)}`)));
          return;
        }
        this.watches.push(watch);
        stream.on('data', (d: string) => this.onData(watch, d));
        resolve();
      });
      stream.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      stream.on('close', () => (watch.closed = true));
      stream.end();
    });
  }

  /** Watch events are JSON objects, one a line. */
  private onData(watch: Watch, chunk: string): void {
    const lines = (watch.pending + chunk).split('\n');
    watch.pending = lines.pop()!;
    const at = performance.now();
    for (const line of lines) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as { type?: string; object?: { metadata?: { name?: string } } };
      if (event.type === 'ERROR') this.errorEvents++;
      const name = event.object?.metadata?.name;
      if (name && event.type !== 'BOOKMARK' && !watch.seen.has(name)) watch.seen.set(name, at);
    }
  }
}
