/**
 * A raw HTTPS request with full control over client certificate and headers, for the cases
 * kubectl cannot express (no certificate, a foreign CA, smuggled identity headers).
 */
import * as https from 'node:https';

export interface TlsRequestOptions {
  readonly url: string;
  readonly caPem: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly method?: string;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string;
  /** The TLS server name to send (a user's endpoint at the edge). @default the URL's host */
  readonly servername?: string;
}

export interface TlsResponse {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export function tlsRequest(opts: TlsRequestOptions): Promise<TlsResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      opts.url,
      {
        method: opts.method ?? 'GET',
        ca: opts.caPem,
        cert: opts.certPem,
        key: opts.keyPem,
        headers: opts.headers,
        agent: false,
        timeout: 10000,
        ...(opts.servername ? { servername: opts.servername } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}
