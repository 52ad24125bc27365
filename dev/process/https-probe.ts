/**
 * One HTTPS GET with a client certificate, for readiness checks. Every hop of the cluster is
 * mutual TLS, so the probes authenticate exactly like the real clients do. Nothing is pooled:
 * a probe that hangs must not hold a socket open after the harness has given up on it.
 */
import * as http from 'node:http';
import * as https from 'node:https';

export interface TlsClientMaterial {
  /** The CA that signed the server's certificate. */
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface HttpsResponse {
  readonly status: number;
  readonly body: string;
}

export function httpsGet(url: string, tls: TlsClientMaterial, timeoutMs = 2_000): Promise<HttpsResponse> {
  return httpsRequest(url, tls, { timeoutMs });
}

export interface HttpsRequestOptions {
  /** @default 'GET' */
  readonly method?: string;
  /** Sent as JSON (Content-Type: application/json). @default no body */
  readonly json?: unknown;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

/**
 * One request with a client certificate, for the harness's own API calls (creating the kwok
 * nodes, waiting for objects the controllers make). Nothing is pooled, as for httpsGet. Without
 * `tls` it also serves plain http:// (an Envoy's admin interface).
 */
export function httpsRequest(url: string, tls: TlsClientMaterial | undefined, options: HttpsRequestOptions = {}): Promise<HttpsResponse> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const body = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
  const client = url.startsWith('http:') ? http : https;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (body) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = body.length;
    }
    const material = tls ? { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem } : {};
    const req = client.request(url, { method: options.method ?? 'GET', headers, ...material, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
