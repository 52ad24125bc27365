/**
 * Where the agent keeps its own certificate and key between restarts: files in its state
 * directory (the local stack's sites), or a Kubernetes Secret of its namespace (in a pod,
 * whose state directory is an emptyDir that a restart empties). With the Secret a restarted
 * pod carries on as the same cluster without a new join token; the agent may read and update
 * only that Secret (constructs/agent-rbac.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KubeClient } from '../kubernetes/kube-client';
import { isNotFound } from '../kubernetes/kube-errors';

export interface StoredIdentity {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface IdentityPersistence {
  /** For logs and errors: where the identity is kept. */
  readonly where: string;
  load(): Promise<StoredIdentity | undefined>;
  save(identity: StoredIdentity): Promise<void>;
}

/** The identity the agent cannot keep; `message` says what to do. */
export class IdentityPersistenceError extends Error {
  readonly code = 'ERR_AGENT_IDENTITY_STORE';
  constructor(message: string) {
    super(message);
    this.name = 'IdentityPersistenceError';
  }
}

export class FileIdentityPersistence implements IdentityPersistence {
  readonly where: string;

  constructor(private readonly dir: string) {
    this.where = dir;
  }

  async load(): Promise<StoredIdentity | undefined> {
    const [cert, key] = [path.join(this.dir, 'agent.crt'), path.join(this.dir, 'agent.key')];
    if (!fs.existsSync(cert) || !fs.existsSync(key)) return undefined;
    return { certPem: fs.readFileSync(cert, 'utf8'), keyPem: fs.readFileSync(key, 'utf8') };
  }

  async save(identity: StoredIdentity): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(this.dir, 'agent.key'), identity.keyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(this.dir, 'agent.crt'), identity.certPem, { mode: 0o644 });
  }
}

interface SecretObject {
  readonly metadata: { readonly resourceVersion?: string; readonly [k: string]: unknown };
  readonly data?: Readonly<Record<string, string>>;
  readonly [k: string]: unknown;
}

const CERT_KEY = 'tls.crt';
const KEY_KEY = 'tls.key';

/** The identity in an existing Secret (tls.crt, tls.key); the agent updates, never creates, it. */
export class SecretIdentityPersistence implements IdentityPersistence {
  readonly where: string;
  private readonly path: string;

  constructor(
    private readonly client: KubeClient,
    namespace: string,
    name: string,
  ) {
    this.where = `Secret ${namespace}/${name}`;
    this.path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
  }

  async load(): Promise<StoredIdentity | undefined> {
    const secret = await this.read();
    const cert = secret.data?.[CERT_KEY];
    const key = secret.data?.[KEY_KEY];
    if (!cert || !key) return undefined;
    return { certPem: Buffer.from(cert, 'base64').toString('utf8'), keyPem: Buffer.from(key, 'base64').toString('utf8') };
  }

  async save(identity: StoredIdentity): Promise<void> {
    const secret = await this.read();
    // resourceVersion makes this a compare-and-swap: an update racing another fails rather than overwrites.
    await this.client.replace(this.path, {
      ...secret,
      data: { ...(secret.data ?? {}), [CERT_KEY]: Buffer.from(identity.certPem).toString('base64'), [KEY_KEY]: Buffer.from(identity.keyPem).toString('base64') },
    });
  }

  private async read(): Promise<SecretObject> {
    try {
      return await this.client.get<SecretObject>(this.path);
    } catch (err) {
      if (isNotFound(err)) throw new IdentityPersistenceError(`${this.where} does not exist: apply the agent's manifests (kubegate manifests agent), which create it empty`);
      throw err;
    }
  }
}
