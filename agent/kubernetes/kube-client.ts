/**
 * A small Kubernetes REST client on node:https, with no dependency beyond Node itself: the
 * agent runs with broad RBAC rights inside customer clusters, so every line it ships is
 * a line someone has to trust.
 *
 * Security properties, none of them optional:
 *   - the server certificate is always verified against the CA given for this cluster (the
 *     system trust store is not used, and verification is never switched off);
 *   - TLS 1.2 is the minimum;
 *   - paths are the caller's, but must be absolute; the helpers in kube-paths.ts encode names.
 *
 * Connections are kept alive because the agent talks to one apiserver all day long; `close()`
 * releases them.
 */
import { X509Certificate } from 'node:crypto';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { TokenFileReader, type KubeCredentials } from './kube-credentials';
import {
  KubeClientConfigError,
  KubeConnectionError,
  KubeProtocolError,
  KubeTimeoutError,
  KubeTlsError,
  KubeUnauthorizedError,
  kubeApiErrorFor,
  type KubeStatusDetails,
} from './kube-errors';
import type { KubeList, KubeObject, ServerVersion } from './kube-objects';
import { serviceAccountTokenPath } from './kube-paths';

export interface KubeClientProps {
  /** https://host:port, optionally with a path prefix the apiserver is served under. */
  readonly server: string;
  /** PEM of the CA(s) that signed the apiserver's serving certificate; the only trust anchors used. */
  readonly caPem: string;
  readonly credentials: KubeCredentials;
  /** @default 'kubegate-agent' */
  readonly userAgent?: string;
  /** Budget for a whole request: connecting, sending and reading the full answer. @default 30000 */
  readonly timeoutMs?: number;
}

export interface KubeListOptions {
  /** e.g. `app.kubernetes.io/managed-by=kubegate,kubegate.io/user-hash` */
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Objects per page; every page is fetched. @default 500 */
  readonly pageSize?: number;
}

export interface KubeDeleteOptions {
  /**
   * Delete only if the object still has this uid / resourceVersion; otherwise the apiserver
   * answers 409 Conflict. Lets a caller delete exactly the version it looked at.
   */
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

export interface ServiceAccountTokenOptions {
  /** Requested lifetime; the apiserver enforces at least 600 and may shorten it. */
  readonly expirationSeconds: number;
  /** @default the apiserver's own audiences */
  readonly audiences?: readonly string[];
}

export interface ServiceAccountToken {
  readonly token: string;
  /** When the apiserver says the token expires (it may differ from what was asked for). */
  readonly expiresAt: Date;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_PAGE_SIZE = 500;
/** No answer the agent needs comes close; a larger one is a misbehaving server, not data. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Codes OpenSSL and Node use for certificate and handshake failures. */
const TLS_ERROR_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/;

interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly basePath: string;
  readonly origin: string;
}

function parseServer(server: string): Endpoint {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new KubeClientConfigError(`server must be an https URL, got ${JSON.stringify(server)}`);
  }
  if (url.protocol !== 'https:') throw new KubeClientConfigError(`server must use https, got ${JSON.stringify(server)}`);
  if (url.username || url.password || url.search || url.hash) {
    throw new KubeClientConfigError(`server must not carry credentials, a query or a fragment, got ${JSON.stringify(server)}`);
  }
  return {
    // URL keeps IPv6 literals in brackets; the socket layer wants them bare.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 443,
    basePath: url.pathname.replace(/\/+$/, ''),
    origin: url.origin,
  };
}

/** Splits a Status error body into reason, message and details; tolerates bodies that are not a Status. */
function parseStatus(body: string): { reason: string; message: string; details?: KubeStatusDetails } {
  try {
    const parsed = JSON.parse(body) as { kind?: unknown; reason?: unknown; message?: unknown; details?: unknown };
    if (parsed && parsed.kind === 'Status') {
      return {
        reason: typeof parsed.reason === 'string' ? parsed.reason : '',
        message: typeof parsed.message === 'string' ? parsed.message : '',
        ...(parsed.details && typeof parsed.details === 'object' ? { details: parsed.details as KubeStatusDetails } : {}),
      };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return { reason: '', message: body.trim().slice(0, 500) };
}

export class KubeClient {
  readonly server: string;
  private readonly endpoint: Endpoint;
  private readonly agent: https.Agent;
  private readonly credentials: KubeCredentials;
  private readonly tokenFile: TokenFileReader | undefined;
  private readonly userAgent: string;
  private readonly timeoutMs: number;

  constructor(props: KubeClientProps) {
    this.endpoint = parseServer(props.server);
    this.server = props.server;
    checkCaPem(props.caPem);
    const timeoutMs = props.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new KubeClientConfigError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    this.timeoutMs = timeoutMs;
    this.userAgent = props.userAgent ?? 'kubegate-agent';
    this.credentials = props.credentials;
    this.tokenFile = props.credentials.kind === 'token-file' ? new TokenFileReader(props.credentials.path) : undefined;
    if (props.credentials.kind === 'token' && (!props.credentials.token || /[\r\n]/.test(props.credentials.token))) {
      throw new KubeClientConfigError('a token must be non-empty and on one line');
    }

    const tlsOptions: tls.SecureContextOptions = {
      ca: props.caPem,
      minVersion: 'TLSv1.2',
      ...(props.credentials.kind === 'client-certificate' ? { cert: props.credentials.certPem, key: props.credentials.keyPem } : {}),
    };
    // Building the context once here turns an unparseable CA, certificate or key into a
    // configuration error now, instead of a confusing failure on the first request.
    try {
      tls.createSecureContext(tlsOptions);
    } catch (err) {
      throw new KubeClientConfigError(`the CA or client certificate cannot be used: ${(err as Error).message}`);
    }
    this.agent = new https.Agent({ ...tlsOptions, keepAlive: true, maxSockets: 16, rejectUnauthorized: true });
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** Lists every object matching, following `continue` tokens so large clusters are read in pages. */
  async list<T extends KubeObject = KubeObject>(path: string, options: KubeListOptions = {}): Promise<KubeList<T>> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let last: KubeList<T> | undefined;
    do {
      const query = new URLSearchParams();
      if (options.labelSelector) query.set('labelSelector', options.labelSelector);
      if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
      query.set('limit', String(options.pageSize ?? DEFAULT_PAGE_SIZE));
      if (continueToken) query.set('continue', continueToken);
      const page = await this.request<KubeList<T>>('GET', `${path}${path.includes('?') ? '&' : '?'}${query.toString()}`);
      if (!page || !Array.isArray(page.items)) throw new KubeProtocolError('GET', path, 'a list answer without items');
      items.push(...page.items);
      last = page;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    return { ...last, metadata: { resourceVersion: last.metadata?.resourceVersion }, items };
  }

  create<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  /** PUT: replaces the whole object; include metadata.resourceVersion to fail (409) on a concurrent change. */
  replace<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  delete<T = unknown>(path: string, options: KubeDeleteOptions = {}): Promise<T> {
    const body = options.preconditions ? { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: options.preconditions } : undefined;
    return this.request<T>('DELETE', path, body);
  }

  /** The apiserver's version, e.g. v1.34.4; readable by every client, authenticated or not. */
  async serverVersion(): Promise<string> {
    const version = await this.get<ServerVersion>('/version');
    if (!version || typeof version.gitVersion !== 'string') throw new KubeProtocolError('GET', '/version', 'no gitVersion in the answer');
    return version.gitVersion;
  }

  /**
   * A short-lived token for a ServiceAccount, from the TokenRequest API. Such tokens are bound
   * to the ServiceAccount's uid: they stop working when it is deleted, which long-lived Secret
   * tokens do not.
   */
  async requestServiceAccountToken(namespace: string, name: string, options: ServiceAccountTokenOptions): Promise<ServiceAccountToken> {
    const path = serviceAccountTokenPath(namespace, name);
    const answer = await this.create<{ status?: { token?: unknown; expirationTimestamp?: unknown } }>(path, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: options.expirationSeconds, ...(options.audiences ? { audiences: [...options.audiences] } : {}) },
    });
    const token = answer?.status?.token;
    const expiry = answer?.status?.expirationTimestamp;
    const expiresAt = typeof expiry === 'string' ? new Date(expiry) : undefined;
    if (typeof token !== 'string' || token === '' || !expiresAt || Number.isNaN(expiresAt.getTime())) {
      throw new KubeProtocolError('POST', path, 'a TokenRequest answer without a token or expiration');
    }
    return { token, expiresAt };
  }

  /** Closes kept-alive connections. Requests made afterwards open new ones. */
  close(): void {
    this.agent.destroy();
  }

  private async authorization(): Promise<string | undefined> {
    switch (this.credentials.kind) {
      case 'token':
        return `Bearer ${this.credentials.token}`;
      case 'token-file':
        return `Bearer ${await this.tokenFile!.token()}`;
      case 'client-certificate':
        return undefined;
    }
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!path.startsWith('/')) throw new KubeClientConfigError(`request paths must start with '/', got ${JSON.stringify(path)}`);
    const authorization = await this.authorization();
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string | number> = { Accept: 'application/json', 'User-Agent': this.userAgent };
    if (authorization) headers.Authorization = authorization;
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const { status, text } = await this.exchange(method, path, headers, payload);

    if (status < 200 || status > 299) {
      const parsed = parseStatus(text);
      const err = kubeApiErrorFor({ method, path, status, reason: parsed.reason, kubeMessage: parsed.message, details: parsed.details });
      // A rotated token may have been written between our stat and the apiserver's check.
      if (err instanceof KubeUnauthorizedError) this.tokenFile?.invalidate();
      throw err;
    }
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeProtocolError(method, path, `HTTP ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 100))}`);
    }
  }

  private exchange(method: string, path: string, headers: Record<string, string | number>, payload: Buffer | undefined): Promise<{ status: number; text: string }> {
    const { host, port, basePath, origin } = this.endpoint;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const req = https.request({ host, port, path: `${basePath}${path}`, method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            settle(() => reject(new KubeProtocolError(method, path, `answer larger than ${MAX_RESPONSE_BYTES} bytes`)));
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => settle(() => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') })));
        res.on('error', (err) => settle(() => reject(networkError(origin, err))));
      });
      // A deadline for the whole exchange, not an idle timeout: a server that trickles bytes
      // (or holds a watch open) must not keep the agent waiting forever.
      const timer = setTimeout(() => {
        settle(() => reject(new KubeTimeoutError(method, path, this.timeoutMs)));
        req.destroy();
      }, this.timeoutMs);
      req.on('error', (err) => settle(() => reject(networkError(origin, err))));
      req.end(payload);
    });
  }
}

/**
 * Node ignores PEM blocks it cannot parse in `ca`, which would leave the client trusting
 * nothing and failing every handshake later with a misleading TLS error; parse them here.
 */
function checkCaPem(caPem: string): void {
  const blocks = (caPem ?? '').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new KubeClientConfigError('caPem must hold the PEM of the CA that signed the apiserver certificate');
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new KubeClientConfigError(`caPem holds a certificate that cannot be parsed: ${(err as Error).message}`);
    }
  }
}

function networkError(server: string, err: Error): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code && TLS_ERROR_CODE.test(code)) return new KubeTlsError(server, code, err.message);
  return new KubeConnectionError(server, code, err.message);
}
