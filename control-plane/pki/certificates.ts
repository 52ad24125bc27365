/**
 * X.509 material for every hop kubegate secures: certificate authorities, serving certificates
 * and client certificates, made with node-forge. Times are always passed in by the caller, so
 * code that decides lifetimes stays testable; key generation is the only randomness here.
 */
import * as crypto from 'node:crypto';
import forge from 'node-forge';

export interface KeyPairPem {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CertificateAuthorityProps {
  readonly commonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export type CertificateUsage = 'server' | 'client' | 'server-and-client';

export interface CertificateProps {
  readonly commonName: string;
  /** Subject O= values; Kubernetes reads these as groups. @default [] */
  readonly organizations?: readonly string[];
  /** @default [] */
  readonly dnsNames?: readonly string[];
  /** @default [] */
  readonly ipAddresses?: readonly string[];
  /** URI SANs, e.g. an identity like spiffe://kubegate/user/alice. @default [] */
  readonly uris?: readonly string[];
  readonly usage: CertificateUsage;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Thrown when a certificate or key handed to kubegate cannot be used. */
export class CertificateError extends Error {
  readonly code = 'ERR_CERTIFICATE';
  constructor(message: string) {
    super(message);
    this.name = 'CertificateError';
  }
}

function newKeyPair(): forge.pki.rsa.KeyPair {
  // RSA 2048: what kube-apiserver, etcd and Envoy all accept without extra flags. Node's
  // native generator is used (forge's pure-JS one takes seconds per key).
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  const rsaKey = forgeKey as forge.pki.rsa.PrivateKey;
  return { privateKey: rsaKey, publicKey: forge.pki.setRsaPublicKey(rsaKey.n, rsaKey.e) };
}

function serialNumber(): string {
  // 16 random bytes with the top bit cleared so the DER integer stays positive.
  const bytes = crypto.randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

function checkValidity(notBefore: Date, notAfter: Date): void {
  if (!(notAfter.getTime() > notBefore.getTime())) {
    throw new CertificateError(`certificate validity is empty: notAfter ${notAfter.toISOString()} is not after notBefore ${notBefore.toISOString()}`);
  }
}

export function createCertificateAuthority(props: CertificateAuthorityProps): KeyPairPem {
  checkValidity(props.notBefore, props.notAfter);
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = props.notBefore;
  cert.validity.notAfter = props.notAfter;
  const subject = [{ name: 'commonName', value: props.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

function parseCa(ca: KeyPairPem): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  try {
    return { cert: forge.pki.certificateFromPem(ca.certPem), key: forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey };
  } catch (err) {
    throw new CertificateError(`CA certificate or key is not valid PEM: ${(err as Error).message}`);
  }
}

export function issueCertificate(ca: KeyPairPem, props: CertificateProps): KeyPairPem {
  const keys = newKeyPair();
  return { certPem: signCertificate(ca, keys.publicKey, props), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

/**
 * Certifies a public key someone else generated (an agent joining kubegate keeps its private
 * key to itself). RSA keys only, like the rest of kubegate's PKI.
 */
export function issueCertificateForPublicKey(ca: KeyPairPem, publicKeyPem: string, props: CertificateProps): string {
  let publicKey: forge.pki.rsa.PublicKey;
  try {
    publicKey = forge.pki.publicKeyFromPem(publicKeyPem) as forge.pki.rsa.PublicKey;
  } catch (err) {
    throw new CertificateError(`the public key is not an RSA public key in PEM (SPKI) form: ${(err as Error).message}`);
  }
  if (!publicKey || typeof publicKey.n?.bitLength !== 'function' || publicKey.n.bitLength() < 2048) {
    throw new CertificateError('the public key must be an RSA key of at least 2048 bits');
  }
  return signCertificate(ca, publicKey, props);
}

function signCertificate(ca: KeyPairPem, publicKey: forge.pki.PublicKey, props: CertificateProps): string {
  checkValidity(props.notBefore, props.notAfter);
  if (!props.commonName) throw new CertificateError('certificate needs a common name');
  const issuer = parseCa(ca);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialNumber();
  // A certificate may not outlive the CA that signs it.
  const caNotAfter = issuer.cert.validity.notAfter;
  cert.validity.notBefore = props.notBefore;
  cert.validity.notAfter = props.notAfter.getTime() > caNotAfter.getTime() ? caNotAfter : props.notAfter;
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: props.commonName }];
  for (const o of props.organizations ?? []) subject.push({ name: 'organizationName', value: o });
  cert.setSubject(subject);
  cert.setIssuer(issuer.cert.subject.attributes);
  const altNames: Array<{ type: number; value?: string; ip?: string }> = [
    ...(props.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(props.uris ?? []).map((value) => ({ type: 6, value })),
    ...(props.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    {
      name: 'extKeyUsage',
      serverAuth: props.usage !== 'client',
      clientAuth: props.usage !== 'server',
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: issuer.cert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(extensions);
  cert.sign(issuer.key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

export interface CertificateSummary {
  readonly commonName: string;
  readonly organizations: readonly string[];
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly fingerprintSha256: string;
  /** Lowercase hex without separators or leading zeros, as the store keys certificates. */
  readonly serial: string;
}

/** Reads the fields kubegate cares about from a PEM certificate. */
export function summarizeCertificate(certPem: string): CertificateSummary {
  let x509: crypto.X509Certificate;
  try {
    x509 = new crypto.X509Certificate(certPem);
  } catch (err) {
    throw new CertificateError(`not a PEM certificate: ${(err as Error).message}`);
  }
  const subjectLines = x509.subject.split('\n');
  const values = (key: string) => subjectLines.filter((l) => l.startsWith(key + '=')).map((l) => l.slice(key.length + 1));
  const sans = (x509.subjectAltName ?? '').split(', ');
  const uris = sans.filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
  const dnsNames = sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
  const ipAddresses = sans.filter((s) => s.startsWith('IP Address:')).map((s) => s.slice('IP Address:'.length));
  return {
    commonName: values('CN')[0] ?? '',
    organizations: values('O'),
    uris,
    dnsNames,
    ipAddresses,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    fingerprintSha256: x509.fingerprint256,
    serial: normalizeSerial(x509.serialNumber),
  };
}

/** One spelling for a serial number however it was printed (case, colons, leading zeros). */
export function normalizeSerial(serial: string): string {
  return serial.replace(/:/g, '').toLowerCase().replace(/^0+(?=.)/, '');
}
