/**
 * kubegate's own certificate authorities and component certificates, kept as PEM files in the
 * state directory. Three CAs with one job each, so no certificate is trusted where it should
 * not be: a user's client certificate cannot open the xDS port, and a component's cannot
 * log in as a user.
 *   - user CA: signs users' client certificates; the edge trusts it for kubectl.
 *   - internal CA: mTLS between kubegate components (Envoy ↔ control plane).
 *   - serving CA: the edge's serving certificate; kubeconfigs trust it.
 *   - agent CA: signs the certificates agents receive when they join, one cluster each
 *     (URI SAN kubegate://cluster/<name>); the edge trusts it for tunnels only.
 * And one signing key (EC P-256) for the identity assertions the edge attaches to each request
 * it sends into a cluster, which the in-cluster Envoy verifies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { createCertificateAuthority, issueCertificate, issueCertificateForPublicKey, summarizeCertificate, type KeyPairPem } from './certificates';
import { EDGE_IDENTITY_URI, EDGE_TUNNEL_SERVER_NAME, agentIdentityUri } from '../../agent/protocol/identities';
import { CONTROL_PLANE_SERVER_NAME } from '../envoy/bootstrap';
import { DEFAULT_USER_SERVER_NAME_SUFFIX } from '../identity/user-identity';

const DAY_MS = 86_400_000;
const CA_LIFETIME_MS = 365 * DAY_MS;
const COMPONENT_LIFETIME_MS = 7 * DAY_MS;
/** Component certificates are re-issued when less than this is left. */
const RENEW_BEFORE_MS = DAY_MS;

export interface KubegatePki {
  readonly dir: string;
  readonly userCa: KeyPairPem;
  readonly internalCa: KeyPairPem;
  readonly servingCa: KeyPairPem;
  readonly controlPlane: KeyPairPem;
  readonly edgeServing: KeyPairPem;
  /** The control plane's admin API serving certificate, from the serving CA like the edge's. */
  readonly apiServing: KeyPairPem;
  readonly agentCa: KeyPairPem;
  /**
   * The edge's identity toward agents: served on the tunnel listener and presented as a client
   * on the tunnels' data path. Internal CA, URI SAN kubegate://edge.
   */
  readonly edgeTunnel: KeyPairPem;
  /** PKCS#8 PEM of the EC P-256 key that signs identity assertions. */
  readonly assertionSigningKeyPem: string;
  /** Certifies an agent's own key for `cluster`, valid from `now` for `lifetimeMs`. */
  issueAgentCertificate(cluster: string, publicKeyPem: string, now: Date, lifetimeMs: number): string;
  /** Files for a component's identity, for processes (Envoy) that read certificates from disk. */
  componentFiles(name: string): { certFile: string; keyFile: string; caFile: string };
  issueComponent(name: string, now: Date): KeyPairPem;
  /** Issues and stores a new edge serving certificate (rotation); the caller publishes it. */
  renewEdgeServing(now: Date): KeyPairPem;
  /** Whether the stored edge serving certificate is within a day of expiring. */
  edgeServingDue(now: Date): boolean;
}

export interface KubegatePkiProps {
  readonly stateDir: string;
  readonly now: Date;
  /** Extra names the edge's serving certificate carries. @default [] */
  readonly edgeNames?: readonly string[];
  /** identity/user-identity.ts; the edge certificate carries *.<suffix>. @default 'users.kubegate.invalid' */
  readonly userServerNameSuffix?: string;
  /**
   * Names (DNS or IP) the admin API is reached at besides loopback, e.g. its Service's public
   * address: its certificate carries them, and is re-issued when one is missing. @default []
   */
  readonly apiNames?: readonly string[];
}

function readPair(dir: string, name: string): KeyPairPem | null {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  if (!fs.existsSync(cert) || !fs.existsSync(key)) return null;
  return { certPem: fs.readFileSync(cert, 'utf8'), keyPem: fs.readFileSync(key, 'utf8') };
}

function writePair(dir: string, name: string, pair: KeyPairPem): void {
  fs.writeFileSync(path.join(dir, `${name}.crt`), pair.certPem, { mode: 0o644 });
  fs.writeFileSync(path.join(dir, `${name}.key`), pair.keyPem, { mode: 0o600 });
}

function stillValid(pair: KeyPairPem | null, now: Date, requiredNames: readonly string[] = []): pair is KeyPairPem {
  if (!pair) return false;
  const summary = summarizeCertificate(pair.certPem);
  if (summary.notAfter.getTime() - now.getTime() <= RENEW_BEFORE_MS) return false;
  // A certificate from before a name was required (e.g. the users' wildcard) is re-issued.
  return requiredNames.every((n) => summary.dnsNames.includes(n) || summary.ipAddresses.includes(n));
}

function isIpAddress(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':');
}

/** Loads the PKI from the state directory, creating or renewing what is missing or expiring. */
export function loadOrCreatePki(props: KubegatePkiProps): KubegatePki {
  const dir = path.join(props.stateDir, 'pki');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = props.now;
  const validity = (ms: number) => ({ notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + ms) });

  const ca = (name: string, commonName: string): KeyPairPem => {
    const existing = readPair(dir, name);
    if (stillValid(existing, now)) return existing;
    const created = createCertificateAuthority({ commonName, ...validity(CA_LIFETIME_MS) });
    writePair(dir, name, created);
    return created;
  };
  const userCa = ca('user-ca', 'kubegate user CA');
  const internalCa = ca('internal-ca', 'kubegate internal CA');
  const servingCa = ca('serving-ca', 'kubegate serving CA');
  const agentCa = ca('agent-ca', 'kubegate agent CA');

  const leaf = (name: string, make: () => KeyPairPem, requiredNames: readonly string[] = []): KeyPairPem => {
    const existing = readPair(dir, name);
    if (stillValid(existing, now, requiredNames)) return existing;
    const created = make();
    writePair(dir, name, created);
    return created;
  };
  const controlPlane = leaf('control-plane', () =>
    issueCertificate(internalCa, {
      commonName: CONTROL_PLANE_SERVER_NAME,
      dnsNames: [CONTROL_PLANE_SERVER_NAME],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
      ...validity(COMPONENT_LIFETIME_MS),
    }),
  );
  // Users' kubeconfigs send <digest>.<suffix> as the TLS server name and verify the edge's
  // certificate against it, so the certificate carries the wildcard.
  const usersWildcard = `*.${props.userServerNameSuffix ?? DEFAULT_USER_SERVER_NAME_SUFFIX}`;
  const edgeNames = ['localhost', '127.0.0.1', usersWildcard, ...(props.edgeNames ?? [])];
  const newEdgeServing = (at: Date) =>
    issueCertificate(servingCa, {
      commonName: 'kubegate-edge',
      dnsNames: edgeNames.filter((n) => !isIpAddress(n)),
      ipAddresses: edgeNames.filter(isIpAddress),
      usage: 'server',
      notBefore: new Date(at.getTime() - 60_000),
      notAfter: new Date(at.getTime() + COMPONENT_LIFETIME_MS),
    });
  const edgeServing = leaf('edge-serving', () => newEdgeServing(now), [usersWildcard]);
  const apiNames = ['localhost', '127.0.0.1', ...(props.apiNames ?? [])];
  const apiServing = leaf(
    'api-serving',
    () =>
      issueCertificate(servingCa, {
        commonName: 'kubegate-api',
        dnsNames: [...new Set(apiNames.filter((n) => !isIpAddress(n)))],
        ipAddresses: [...new Set(apiNames.filter(isIpAddress))],
        usage: 'server',
        ...validity(COMPONENT_LIFETIME_MS),
      }),
    apiNames,
  );
  const edgeTunnel = leaf('edge-tunnel', () =>
    issueCertificate(internalCa, {
      commonName: EDGE_TUNNEL_SERVER_NAME,
      dnsNames: [EDGE_TUNNEL_SERVER_NAME],
      uris: [EDGE_IDENTITY_URI],
      usage: 'server-and-client',
      ...validity(COMPONENT_LIFETIME_MS),
    }),
  );
  fs.writeFileSync(path.join(dir, 'internal-ca-bundle.crt'), internalCa.certPem);
  const signingKeyFile = path.join(dir, 'assertion-signing.key');
  if (!fs.existsSync(signingKeyFile)) {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fs.writeFileSync(signingKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const assertionSigningKeyPem = fs.readFileSync(signingKeyFile, 'utf8');

  return {
    dir,
    userCa,
    internalCa,
    servingCa,
    controlPlane,
    edgeServing,
    apiServing,
    agentCa,
    edgeTunnel,
    assertionSigningKeyPem,
    issueAgentCertificate: (cluster, publicKeyPem, at, lifetimeMs) =>
      issueCertificateForPublicKey(agentCa, publicKeyPem, {
        commonName: `kubegate-agent:${cluster}`,
        // The DNS SAN is what the edge's tunnel handshake compares the claimed cluster with.
        dnsNames: [cluster],
        uris: [agentIdentityUri(cluster)],
        usage: 'server-and-client',
        notBefore: new Date(at.getTime() - 60_000),
        notAfter: new Date(at.getTime() + lifetimeMs),
      }),
    componentFiles: (name) => ({
      certFile: path.join(dir, `${name}.crt`),
      keyFile: path.join(dir, `${name}.key`),
      caFile: path.join(dir, 'internal-ca-bundle.crt'),
    }),
    renewEdgeServing: (at) => {
      const pair = newEdgeServing(at);
      writePair(dir, 'edge-serving', pair);
      return pair;
    },
    edgeServingDue: (at) => !stillValid(readPair(dir, 'edge-serving'), at),
    issueComponent: (name, at) =>
      leaf(name, () =>
        issueCertificate(internalCa, {
          commonName: name,
          dnsNames: [name],
          usage: 'client',
          notBefore: new Date(at.getTime() - 60_000),
          notAfter: new Date(at.getTime() + COMPONENT_LIFETIME_MS),
        }),
      ),
  };
}
