import { issueCertificate, summarizeCertificate, type KeyPairPem } from '../pki/certificates';
import { userUri } from '../identity/user-identity';

/** Default and largest lifetime of a user's client certificate. */
export const DEFAULT_USER_CERT_TTL_MS = 8 * 3_600_000;
export const MAX_USER_CERT_TTL_MS = 24 * 3_600_000;

export class CredentialRequestError extends Error {
  readonly code = 'ERR_CREDENTIAL_REQUEST';
  constructor(message: string) {
    super(message);
    this.name = 'CredentialRequestError';
  }
}

export interface UserCertificateRequest {
  readonly user: string;
  readonly ttlMs: number;
  readonly now: Date;
  /** The organisation's ceiling on lifetimes. @default MAX_USER_CERT_TTL_MS */
  readonly maxTtlMs?: number;
}

export interface IssuedUserCertificate extends KeyPairPem {
  /** As the store records it (normalizeSerial). */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

// Kubernetes user and group names are free-form, but kubegate keeps them printable and short
// and refuses the system: prefix, which belongs to the cluster's own identities.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/;

export function validateUserName(kind: 'user' | 'group', name: string): void {
  if (!NAME.test(name)) {
    throw new CredentialRequestError(`${kind} "${name}" is not valid: use letters, digits and . _ @ : - (at most 128)`);
  }
  if (name.startsWith('system:')) {
    throw new CredentialRequestError(`${kind} "${name}" is reserved: names starting with system: belong to Kubernetes`);
  }
}

/**
 * A short-lived client certificate whose only identity is the URI SAN naming the user (CN
 * repeats the name for people reading it). Groups are deliberately not in the certificate:
 * the edge resolves them from kubegate's records on every request, so a membership change
 * applies at once instead of when the certificate expires.
 */
export function issueUserCertificate(userCa: KeyPairPem, req: UserCertificateRequest): IssuedUserCertificate {
  validateUserName('user', req.user);
  const max = Math.min(req.maxTtlMs ?? MAX_USER_CERT_TTL_MS, MAX_USER_CERT_TTL_MS);
  if (!(req.ttlMs > 0)) throw new CredentialRequestError('a certificate lifetime must be positive');
  if (req.ttlMs > max) {
    throw new CredentialRequestError(`a lifetime of ${formatHours(req.ttlMs)} is longer than the maximum of ${formatHours(max)}`);
  }
  const pair = issueCertificate(userCa, {
    commonName: req.user,
    uris: [userUri(req.user)],
    usage: 'client',
    // A minute of slack for clocks that disagree a little.
    notBefore: new Date(req.now.getTime() - 60_000),
    notAfter: new Date(req.now.getTime() + req.ttlMs),
  });
  const summary = summarizeCertificate(pair.certPem);
  return { ...pair, serial: summary.serial, notBefore: summary.notBefore, notAfter: summary.notAfter };
}

function formatHours(ms: number): string {
  const h = ms / 3_600_000;
  return `${Number.isInteger(h) ? h : h.toFixed(2)} h`;
}
