import { issueCertificate, type KeyPairPem } from '../pki/certificates';

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
  readonly groups: readonly string[];
  readonly ttlMs: number;
  readonly now: Date;
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

/** A short-lived client certificate: CN is the user, one O per group. */
export function issueUserCertificate(userCa: KeyPairPem, req: UserCertificateRequest): KeyPairPem {
  validateUserName('user', req.user);
  for (const g of req.groups) validateUserName('group', g);
  if (req.ttlMs > MAX_USER_CERT_TTL_MS) {
    throw new CredentialRequestError(`a lifetime of ${req.ttlMs / 3_600_000} h is longer than the maximum of ${MAX_USER_CERT_TTL_MS / 3_600_000} h`);
  }
  return issueCertificate(userCa, {
    commonName: req.user,
    organizations: req.groups,
    uris: [`kubegate://user/${encodeURIComponent(req.user)}`],
    usage: 'client',
    // A minute of slack for clocks that disagree a little.
    notBefore: new Date(req.now.getTime() - 60_000),
    notAfter: new Date(req.now.getTime() + req.ttlMs),
  });
}
