/**
 * The CLI's HTTP client for the control plane's admin API: HTTPS with the caller's client
 * certificate, the server verified against the CA the caller's kubeconfig trusts, JSON in and
 * out. An error answer becomes an ApiRequestError carrying the API's code and message (and,
 * for a policy set that does not load, every policy error), so commands print what the server
 * said instead of an HTTP status.
 */
import * as https from 'node:https';
import type { ApiErrorBody, ApiPolicyError } from '../api/api-errors';

export interface ApiClientProps {
  /** Base URL of the API, e.g. https://127.0.0.1:9443 (the /api/v1 prefix is added). */
  readonly server: string;
  /** The CA that signed the API's serving certificate. */
  readonly caPem: string;
  /** The caller's client certificate and key, issued by kubegate's user CA. */
  readonly certPem: string;
  readonly keyPem: string;
  /** @default 30000 */
  readonly timeoutMs?: number;
}

/** The API answered with an error. */
export class ApiRequestError extends Error {
  readonly code: string;
  readonly field?: string;
  readonly errors?: readonly ApiPolicyError[];

  constructor(
    readonly status: number,
    body: Partial<ApiErrorBody>,
  ) {
    super(body.message ?? `the API answered HTTP ${status}`);
    this.name = 'ApiRequestError';
    this.code = body.code ?? `HTTP_${status}`;
    if (body.field !== undefined) this.field = body.field;
    if (body.errors !== undefined) this.errors = body.errors;
  }
}

/** The API could not be reached, or refused the connection (TLS), or answered nonsense. */
export class ApiUnreachableError extends Error {
  readonly code = 'ERR_API_UNREACHABLE';
  constructor(message: string) {
    super(message);
    this.name = 'ApiUnreachableError';
  }
}

export class ApiClient {
  private readonly base: string;

  constructor(private readonly props: ApiClientProps) {
    let url: URL;
    try {
      url = new URL(props.server);
    } catch {
      throw new ApiUnreachableError(`"${props.server}" is not a URL; the API's address looks like https://127.0.0.1:9443`);
    }
    if (url.protocol !== 'https:') throw new ApiUnreachableError(`the API is only served over https, not ${url.protocol.replace(':', '')} (${props.server})`);
    this.base = props.server.replace(/\/+$/, '') + '/api/v1';
  }

  get server(): string {
    return this.props.server;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = https.request(
        this.base + path,
        {
          method,
          ca: this.props.caPem,
          cert: this.props.certPem,
          key: this.props.keyPem,
          agent: false,
          timeout: this.props.timeoutMs ?? 30_000,
          headers: {
            accept: 'application/json',
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new ApiUnreachableError(`reading the answer of ${this.props.server} failed: ${err.message}`)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              reject(new ApiUnreachableError(`${this.props.server} answered HTTP ${status} with something that is not JSON; is it the kubegate API?`));
              return;
            }
            if (status >= 200 && status < 300) resolve(parsed as T);
            else reject(new ApiRequestError(status, (parsed ?? {}) as Partial<ApiErrorBody>));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${(this.props.timeoutMs ?? 30_000) / 1000} s`)));
      req.on('error', (err: Error & { code?: string }) => reject(new ApiUnreachableError(describeConnectionError(this.props.server, err))));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

function describeConnectionError(server: string, err: Error & { code?: string }): string {
  const hint: Record<string, string> = {
    ECONNREFUSED: 'nothing listens there; is the control plane running?',
    ENOTFOUND: 'the host name does not resolve',
    ERR_TLS_CERT_ALTNAME_INVALID: "the API's certificate is not for this host",
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the API's certificate is not signed by the CA in your kubeconfig",
    SELF_SIGNED_CERT_IN_CHAIN: "the API's certificate is not signed by the CA in your kubeconfig",
    DEPTH_ZERO_SELF_SIGNED_CERT: "the API's certificate is not signed by the CA in your kubeconfig",
    CERT_HAS_EXPIRED: "the API's certificate has expired",
    ECONNRESET: 'the connection was closed; the API may have refused your client certificate (expired, or not issued by kubegate)',
  };
  const why = (err.code && hint[err.code]) || (/alert|certificate/i.test(err.message) ? 'the API refused your client certificate (expired, or not issued by kubegate)' : '');
  return `cannot reach the kubegate API at ${server}: ${err.message}${why ? ` (${why})` : ''}`;
}
