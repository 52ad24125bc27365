import { X509Certificate } from 'node:crypto';
import { userFromUri } from '../identity/user-identity';
import { normalizeSerial } from '../pki/certificates';

/** What a verified user certificate says: who, and which certificate (for revocation). */
export interface CertificateIdentity {
  readonly user: string;
  readonly serial: string;
}

/**
 * Reads the user from the client certificate Envoy already verified: the URI SAN
 * kubegate://user/<name>, never the CN or O (a certificate's subject is not what kubegate
 * trusts for identity, and groups come from kubegate's records). Parsing is cached by
 * certificate, because the same certificate arrives on every request of a session.
 */
export class CertificateIdentityReader {
  private readonly cache = new Map<string, CertificateIdentity | null>();
  constructor(private readonly maxEntries = 10000) {}

  read(certPem: string): CertificateIdentity | null {
    if (!certPem) return null;
    // Keyed by the PEM itself: a string Map lookup is cheaper than hashing it ourselves.
    const hit = this.cache.get(certPem);
    if (hit !== undefined) return hit;
    const identity = parse(certPem);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(certPem, identity);
    return identity;
  }
}

function parse(certPem: string): CertificateIdentity | null {
  try {
    const cert = new X509Certificate(certPem);
    const users = (cert.subjectAltName ?? '')
      .split(', ')
      .filter((san) => san.startsWith('URI:'))
      .map((san) => userFromUri(san.slice(4)))
      .filter((u): u is string => u !== null);
    // Exactly one user: a certificate naming two users is not one kubegate issued.
    if (users.length !== 1) return null;
    return { user: users[0]!, serial: normalizeSerial(cert.serialNumber) };
  } catch {
    return null;
  }
}
