/**
 * A small closed-loop load generator: `concurrency` workers each send requests back to back
 * for a fixed count, over keep-alive HTTPS connections. Latencies are recorded per request.
 */
import * as https from 'node:https';

export interface LoadTarget {
  readonly name: string;
  readonly url: string;
  readonly caPem: string;
  /**
   * Client certificate. Absent for a target that authenticates by a bearer token in `headers`:
   * kube-apiserver authenticates a client certificate before a token, so sending one would
   * change whom the request is from.
   */
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly headers?: Record<string, string | string[]>;
  /** TLS server name (a user's endpoint at the edge). @default the URL's host */
  readonly servername?: string;
}

export interface LoadResult {
  readonly name: string;
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** TLS options of a target: its CA, its client certificate if any, its server name if any. */
function tlsOptions(target: LoadTarget): https.AgentOptions {
  return {
    ca: target.caPem,
    ...(target.certPem && target.keyPem ? { cert: target.certPem, key: target.keyPem } : {}),
    ...(target.servername ? { servername: target.servername } : {}),
  };
}

/**
 * One GET on a new connection (TLS handshake included), with its status, body and time in ms:
 * to explain a failing setup, or to time a request that is the first of its kind.
 */
export function getOnce(target: LoadTarget): Promise<{ status: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = https.request(target.url, { ...tlsOptions(target), headers: target.headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Number(process.hrtime.bigint() - start) / 1e6 }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function runLoad(target: LoadTarget, opts: { concurrency: number; requests: number }): Promise<LoadResult> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: opts.concurrency, ...tlsOptions(target) });
  const latencies: number[] = [];
  let errors = 0;
  let remaining = opts.requests;
  const one = () =>
    new Promise<void>((resolve) => {
      const start = process.hrtime.bigint();
      const req = https.request(target.url, { agent, headers: target.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors++;
          else latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
  const worker = async () => {
    while (remaining > 0) {
      remaining--;
      await one();
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    name: target.name,
    requests: latencies.length,
    errors,
    seconds,
    requestsPerSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}
