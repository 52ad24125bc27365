/**
 * The agent's own certificate: obtained once with the join token, kept where the agent keeps
 * its identity (identity-persistence.ts: files in its state directory, or a Secret in a pod),
 * so a restart does not need a new token; renewed with a fresh key when two thirds of its
 * lifetime have passed, and mirrored into the in-cluster Envoy's secrets directory.
 */
import * as crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { agentServiceDefinition, type CertificateResponse } from '../protocol/agent-protocol';
import { CONTROL_PLANE_SERVER_NAME } from '../protocol/identities';
import { writeIdentitySecret } from './secret-files';
import type { IdentityPersistence } from './identity-persistence';

export interface AgentCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly notAfter: number;
  readonly notBefore: number;
}

/** The agent could not obtain or renew its certificate; `message` says what to do. */
export class AgentIdentityError extends Error {
  readonly code = 'ERR_AGENT_IDENTITY';
  constructor(message: string) {
    super(message);
    this.name = 'AgentIdentityError';
  }
}

export interface ControlPlaneAddress {
  readonly host: string;
  readonly port: number;
  /** The internal CA's certificate: the only trust anchor for the control plane. */
  readonly caPem: string;
}

export function grpcChannelOptions(): grpc.ChannelOptions {
  return {
    'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME,
    'grpc.default_authority': CONTROL_PLANE_SERVER_NAME,
    'grpc.keepalive_time_ms': 15_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
  };
}

export function agentClient(cp: ControlPlaneAddress, identity?: AgentCertificate): grpc.Client & Record<string, Function> {
  const Client = agentServiceDefinition();
  const credentials = identity
    ? grpc.credentials.createSsl(Buffer.from(cp.caPem), Buffer.from(identity.keyPem), Buffer.from(identity.certPem))
    : grpc.credentials.createSsl(Buffer.from(cp.caPem));
  return new Client(`${cp.host}:${cp.port}`, credentials, grpcChannelOptions()) as unknown as grpc.Client & Record<string, Function>;
}

function newKey(): { publicKeyPem: string; keyPem: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function toCertificate(response: CertificateResponse, keyPem: string): AgentCertificate {
  const x509 = new crypto.X509Certificate(response.certificate_pem);
  return { certPem: response.certificate_pem, keyPem, notAfter: new Date(x509.validTo).getTime(), notBefore: new Date(x509.validFrom).getTime() };
}

function unary<T>(client: grpc.Client & Record<string, Function>, method: string, request: object, timeoutMs = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method]!(request, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, response: T) => (err ? reject(err) : resolve(response)));
  });
}

export class AgentIdentityStore {
  constructor(
    private readonly persistence: IdentityPersistence,
    private readonly secretsDir: string,
  ) {}

  async load(): Promise<AgentCertificate | undefined> {
    const stored = await this.persistence.load();
    if (!stored) return undefined;
    const x509 = new crypto.X509Certificate(stored.certPem);
    return { ...stored, notAfter: new Date(x509.validTo).getTime(), notBefore: new Date(x509.validFrom).getTime() };
  }

  async save(cert: AgentCertificate): Promise<void> {
    await this.persistence.save({ certPem: cert.certPem, keyPem: cert.keyPem });
    writeIdentitySecret(this.secretsDir, cert.certPem, cert.keyPem);
  }

  /** Trades the join token for a certificate (once); a stored certificate is used as is. */
  async joinOrLoad(cp: ControlPlaneAddress, cluster: string, joinToken: string | undefined, now: number): Promise<AgentCertificate> {
    const existing = await this.load();
    if (existing && existing.notAfter > now) {
      writeIdentitySecret(this.secretsDir, existing.certPem, existing.keyPem);
      return existing;
    }
    if (!joinToken) {
      throw new AgentIdentityError(existing ? 'the stored agent certificate has expired; create a new join token (kubegate cluster join-token) and start the agent with it' : 'this agent has not joined yet: start it with a join token (kubegate cluster join-token)');
    }
    const key = newKey();
    const client = agentClient(cp);
    try {
      const response = await unary<CertificateResponse>(client, 'Join', { token: joinToken, cluster, public_key_pem: key.publicKeyPem });
      const cert = toCertificate(response, key.keyPem);
      await this.save(cert);
      return cert;
    } catch (err) {
      throw new AgentIdentityError(`joining kubegate as cluster "${cluster}" failed: ${(err as grpc.ServiceError).details ?? (err as Error).message}`);
    } finally {
      client.close();
    }
  }

  /** Renews with a new key over mTLS with the current certificate. */
  async renew(cp: ControlPlaneAddress, current: AgentCertificate): Promise<AgentCertificate> {
    const key = newKey();
    const client = agentClient(cp, current);
    try {
      const response = await unary<CertificateResponse>(client, 'Renew', { public_key_pem: key.publicKeyPem });
      const cert = toCertificate(response, key.keyPem);
      await this.save(cert);
      return cert;
    } finally {
      client.close();
    }
  }
}

/** When to renew: after two thirds of the certificate's lifetime. */
export function renewalDue(cert: AgentCertificate): number {
  return cert.notBefore + ((cert.notAfter - cert.notBefore) * 2) / 3;
}
