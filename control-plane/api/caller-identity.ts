/**
 * Who is calling the admin API. TLS has already verified that the client certificate chains to
 * the user CA; identity is then read as the edge reads it (the URI SAN, never the CN or O) and
 * resolved against kubegate's records, so a disabled user or a revoked certificate loses the
 * API at the same moment it loses the edge.
 */
import type { TLSSocket } from 'node:tls';
import { CertificateIdentityReader } from '../authz/certificate-identity';
import type { AccessState } from '../access-state/access-state';
import { unauthenticated } from './api-errors';
import { isAdmin } from './admins';

/** Who is calling: from the client certificate, resolved against kubegate's records. */
export interface Caller {
  readonly user: string;
  readonly groups: readonly string[];
  readonly admin: boolean;
  /** The serial of the certificate the caller presented. */
  readonly serial: string;
}

export class CallerIdentity {
  private readonly reader = new CertificateIdentityReader();

  /** @throws ApiError 401 when the certificate or the user it names cannot be used. */
  resolve(socket: TLSSocket, access: AccessState): Caller {
    if (!socket.authorized) throw unauthenticated('a client certificate issued by kubegate is required');
    const raw = socket.getPeerCertificate(false)?.raw;
    if (!raw || raw.length === 0) throw unauthenticated('a client certificate issued by kubegate is required');
    const identity = this.reader.read(toPem(raw));
    if (!identity) throw unauthenticated('the client certificate does not name a kubegate user (URI SAN kubegate://user/<name>)');
    const record = access.user(identity.user);
    if (!record) throw unauthenticated(`user "${identity.user}" is not known to kubegate; ask an administrator to create the user`);
    if (record.disabled) throw unauthenticated(`user "${record.name}" is disabled`);
    if (access.isRevoked(identity.serial)) {
      throw unauthenticated('this client certificate was revoked; ask an administrator for a new kubeconfig');
    }
    return { user: record.name, groups: record.groups, admin: isAdmin(record.groups), serial: identity.serial };
  }
}

function toPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
