/**
 * Requests as a kubeconfig's user makes them, without kubectl: for load that kubectl's process
 * start-up would slow down. Each result keeps the x-request-id the edge returned, which is what
 * the audit trail joins a request's records by.
 */
import * as fs from 'node:fs';
import { parse } from 'yaml';
import { tlsRequest } from './tls-request';

export interface KubeconfigUser {
  readonly server: string;
  readonly servername: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface SeenRequest {
  /** The HTTP status, or the error code when there was no answer. */
  readonly status: number | string;
  /** '' when there was no answer. */
  readonly requestId: string;
}

/** The first context's server and credentials. */
export function kubeconfigUser(file: string): KubeconfigUser {
  type Doc = { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
  const doc = parse(fs.readFileSync(file, 'utf8')) as Doc;
  const b64 = (s: string) => Buffer.from(s, 'base64').toString();
  return {
    server: doc.clusters[0]!.cluster.server!,
    servername: doc.clusters[0]!.cluster['tls-server-name']!,
    caPem: b64(doc.clusters[0]!.cluster['certificate-authority-data']!),
    certPem: b64(doc.users[0]!.user['client-certificate-data']!),
    keyPem: b64(doc.users[0]!.user['client-key-data']!),
  };
}

/** GET `path` (under the server URL) as the user; never throws. */
export async function requestAs(user: KubeconfigUser, path: string): Promise<SeenRequest> {
  try {
    const r = await tlsRequest({ url: `${user.server}${path}`, servername: user.servername, caPem: user.caPem, certPem: user.certPem, keyPem: user.keyPem });
    return { status: r.status, requestId: String(r.headers['x-request-id'] ?? '') };
  } catch (err) {
    return { status: (err as NodeJS.ErrnoException).code ?? 'error', requestId: '' };
  }
}
