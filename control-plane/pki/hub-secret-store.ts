/**
 * Keeps the controller's PKI directory and the credentials it hands out in Kubernetes Secrets
 * (hub-secrets/hub-secrets.ts), for a controller running in pods: an emptyDir forgets everything on
 * restart, and every replica must sign with the same CAs. The first replica to start creates
 * the Secrets, so nothing secret is ever in the manifests' text; a replica that loses that race
 * (AlreadyExists) takes the winner's. Every write is a compare-and-swap on resourceVersion.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KubeClient } from '../../agent/kubernetes/kube-client';
import { isAlreadyExists, isConflict, isNotFound } from '../../agent/kubernetes/kube-errors';
import type { KeyPairPem } from './certificates';
import { ADMIN_KUBECONFIG_KEY, ADMIN_KUBECONFIG_SECRET, EDGE_XDS_CLIENT_KEYS, EDGE_XDS_CLIENT_SECRET, HUB_PKI_SECRET } from '../hub-secrets/hub-secrets';

/** A pod's own credentials toward kube-apiserver, mounted by the kubelet. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The Secrets cannot be read or written; `message` names the Secret and the reason. */
export class HubSecretError extends Error {
  readonly code = 'ERR_HUB_SECRET';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HubSecretError';
  }
}

interface SecretObject {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion?: string; readonly [k: string]: unknown };
  readonly data?: Readonly<Record<string, string>>;
  readonly [k: string]: unknown;
}

/** The client a pod has: kube-apiserver from the environment, the mounted token and CA. */
export function inClusterKubeClient(env: NodeJS.ProcessEnv = process.env): KubeClient {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) throw new HubSecretError('kubernetesSecrets is set but KUBERNETES_SERVICE_HOST is not: the controller is not running in a pod');
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const caFile = path.join(SERVICE_ACCOUNT_DIR, 'ca.crt');
  let caPem: string;
  try {
    caPem = fs.readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new HubSecretError(`cannot read the pod's ServiceAccount CA ${caFile}: ${(err as Error).message}`);
  }
  return new KubeClient({
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    caPem,
    credentials: { kind: 'token-file', path: path.join(SERVICE_ACCOUNT_DIR, 'token') },
    userAgent: 'kubegate-controller',
  });
}

const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

export class HubSecretStore {
  constructor(
    private readonly client: KubeClient,
    readonly namespace: string,
  ) {}

  /**
   * Writes the PKI Secret's files into `dir`, replacing what is there. Returns false when the
   * Secret does not exist yet (a first install: the caller creates the PKI, then `savePki`).
   */
  async restorePki(dir: string): Promise<boolean> {
    const secret = await this.read(HUB_PKI_SECRET);
    if (!secret) return false;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const [file, b64] of Object.entries(secret.data ?? {})) {
      if (file.includes('/') || file.startsWith('.')) throw new HubSecretError(`Secret ${this.where(HUB_PKI_SECRET)} holds key "${file}", which is not a PKI file name`);
      fs.writeFileSync(path.join(dir, file), Buffer.from(b64, 'base64'), { mode: file.endsWith('.key') ? 0o600 : 0o644 });
    }
    return true;
  }

  /**
   * Stores every file of `dir` in the PKI Secret: creates it, or updates it when a file
   * changed (a renewal). Returns 'lost-race' when another replica created or changed it between
   * our read and our write, and 'other-pki' when it holds other CAs than `dir`: a replica that
   * made its PKI before it saw the Secret, which another replica created meanwhile. It never
   * overwrites another PKI; the caller restores theirs and loads the PKI again.
   */
  async savePki(dir: string): Promise<'created' | 'updated' | 'unchanged' | 'lost-race' | 'other-pki'> {
    const data: Record<string, string> = {};
    for (const file of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, file);
      if (fs.statSync(full).isFile()) data[file] = fs.readFileSync(full).toString('base64');
    }
    const existing = await this.read(HUB_PKI_SECRET);
    if (existing && !sameCas(existing.data ?? {}, data)) return 'other-pki';
    return this.put(HUB_PKI_SECRET, data, existing);
  }

  /** The edge's client certificate toward the controller, as the edge pod mounts it. */
  async putEdgeXdsClient(pair: KeyPairPem, caBundlePem: string): Promise<void> {
    await this.put(EDGE_XDS_CLIENT_SECRET, { [EDGE_XDS_CLIENT_KEYS.cert]: encode(pair.certPem), [EDGE_XDS_CLIENT_KEYS.key]: encode(pair.keyPem), [EDGE_XDS_CLIENT_KEYS.ca]: encode(caBundlePem) });
  }

  async putAdminKubeconfig(kubeconfig: string): Promise<void> {
    await this.put(ADMIN_KUBECONFIG_SECRET, { [ADMIN_KUBECONFIG_KEY]: encode(kubeconfig) });
  }

  /** The stored admin kubeconfig, if one was written. */
  async adminKubeconfig(): Promise<string | undefined> {
    const b64 = (await this.read(ADMIN_KUBECONFIG_SECRET))?.data?.[ADMIN_KUBECONFIG_KEY];
    return b64 ? decode(b64) : undefined;
  }

  private where(name: string): string {
    return `${this.namespace}/${name}`;
  }

  private secretPath(name?: string): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets`;
    return name ? `${base}/${encodeURIComponent(name)}` : base;
  }

  private async read(name: string): Promise<SecretObject | undefined> {
    try {
      return await this.client.get<SecretObject>(this.secretPath(name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new HubSecretError(`cannot read Secret ${this.where(name)}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async put(name: string, data: Record<string, string>, read?: SecretObject): Promise<'created' | 'updated' | 'unchanged' | 'lost-race'> {
    const existing = read ?? (await this.read(name));
    try {
      if (!existing) {
        await this.client.create(this.secretPath(), {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace: this.namespace, labels: { 'app.kubernetes.io/part-of': 'kubegate', 'app.kubernetes.io/managed-by': 'kubegate-controller' } },
          type: 'Opaque',
          data,
        });
        return 'created';
      }
      const same = JSON.stringify(Object.entries(existing.data ?? {}).sort()) === JSON.stringify(Object.entries(data).sort());
      if (same) return 'unchanged';
      await this.client.replace(this.secretPath(name), { ...existing, data });
      return 'updated';
    } catch (err) {
      // Created by another replica since our read, or changed (the replace names the version read).
      if (isAlreadyExists(err) || isConflict(err)) return 'lost-race';
      throw new HubSecretError(`cannot write Secret ${this.where(name)}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** The CAs (certificates and keys) two PKI file sets hold are the same ones. */
function sameCas(a: Record<string, string>, b: Record<string, string>): boolean {
  const cas = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((f) => /-ca\.(crt|key)$/.test(f));
  return cas.every((f) => a[f] === b[f]);
}
