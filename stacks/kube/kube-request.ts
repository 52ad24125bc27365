/**
 * Why: one HTTPS request with a KubeTarget's credentials, answered as JSON, with a deadline and
 * an error that says which cluster could not be reached and why. Used for the reachability
 * check before a preview changes anything, and by the dynamic providers to read the Secrets the
 * hub's controller creates, and (with the admin's client certificate) to call the hub's API.
 *
 * Plain functions over node built-ins only: dynamic providers serialize what they call.
 */
import * as https from 'node:https';
import type { KubeTarget } from './kubeconfig-target';

export interface JsonResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
}

/** The server could not be reached (DNS, refused, TLS, timeout): no HTTP answer at all. */
export class UnreachableError extends Error {
  readonly code = 'ERR_UNREACHABLE';
  constructor(message: string) {
    super(message);
    this.name = 'UnreachableError';
  }
}

export interface RequestOptions {
  readonly method?: string;
  readonly body?: unknown;
  /** @default 10 s */
  readonly timeoutMs?: number;
  /** Names the server in errors: "the hub cluster", "cluster prod-eu". */
  readonly label: string;
}

/** Sends one request to `target.server` + `path`; any HTTP status is an answer, not an error. */
export function requestJson<T = unknown>(target: KubeTarget, path: string, options: RequestOptions): Promise<JsonResponse<T>> {
  const url = new URL(target.server + path);
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        method: options.method ?? 'GET',
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port || 443,
        path: url.pathname + url.search,
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
        },
        ...(target.caPem ? { ca: target.caPem } : {}),
        ...(target.certPem && target.keyPem ? { cert: target.certPem, key: target.keyPem } : {}),
        ...(target.tlsServerName ? { servername: target.tlsServerName } : {}),
        rejectUnauthorized: target.insecureSkipTlsVerify !== true,
        minVersion: 'TLSv1.2',
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new UnreachableError(`${options.label} (${url.origin}) broke off its answer: ${err.message}`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // Not JSON (a proxy's error page): the text is the body.
          }
          resolve({ status: res.statusCode ?? 0, body: body as T });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new UnreachableError(`${options.label} cannot be reached at ${url.origin}: ${err.code ? `${err.code}: ` : ''}${err.message}`)));
    req.end(payload);
  });
}

/** Asks `/version` of a cluster's API; its gitVersion, or an UnreachableError naming the cluster. */
export async function clusterVersion(target: KubeTarget, label: string, timeoutMs = 10_000): Promise<string> {
  const r = await requestJson<{ gitVersion?: string }>(target, '/version', { label, timeoutMs });
  if (r.status !== 200) throw new UnreachableError(`${label} answered /version with HTTP ${r.status}: ${describeBody(r.body)}`);
  return r.body?.gitVersion ?? 'unknown';
}

/** A short text for an error body: Kubernetes' Status message, kubegate's error message (with its policy errors), or the text. */
export function describeBody(body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown; error?: { message?: unknown }; errors?: unknown };
    if (typeof b.error?.message === 'string') return b.error.message;
    if (typeof b.message === 'string') {
      // kubegate's policy errors come as a list: each at its file:line:col.
      const errors = Array.isArray(b.errors) ? (b.errors as { file?: unknown; line?: unknown; column?: unknown; message?: unknown }[]) : [];
      return [b.message, ...errors.map((e) => `  ${String(e.file)}:${String(e.line)}:${String(e.column)}: ${String(e.message)}`)].join('\n');
    }
    return JSON.stringify(body).slice(0, 300);
  }
  return String(body ?? '').slice(0, 300) || '(empty)';
}
