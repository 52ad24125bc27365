/**
 * A self-contained kubeconfig (certificates embedded, no file references) for talking to the
 * local apiserver directly, written owner-only since it carries a private key.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';

export interface DirectKubeconfigProps {
  /** Cluster, user and context names derive from it; the context is named exactly this. */
  readonly name: string;
  readonly serverUrl: string;
  readonly caPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  /** @default `${name}-admin` */
  readonly userName?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function buildDirectKubeconfig(props: DirectKubeconfigProps): string {
  const user = props.userName ?? `${props.name}-admin`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: props.name, cluster: { server: props.serverUrl, 'certificate-authority-data': b64(props.caPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(props.clientCertPem), 'client-key-data': b64(props.clientKeyPem) } }],
    contexts: [{ name: props.name, context: { cluster: props.name, user } }],
    'current-context': props.name,
  });
}

export function writeDirectKubeconfig(file: string, props: DirectKubeconfigProps): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Write then rename, so a reader never sees half a file.
  fs.writeFileSync(file + '.tmp', buildDirectKubeconfig(props), { mode: 0o600 });
  fs.renameSync(file + '.tmp', file);
}
