/**
 * Which users hold a certificate that can still complete a handshake at the edge (issued by
 * kubegate, not expired, not revoked), and until when. Only such users get a filter chain of
 * their own: with ten thousand users, most of whom have no certificate on a given day, chains
 * for everyone cost Envoy seconds on every listener update (a revocation among them).
 *
 * What is known only grows from the store's records (a certificate listed or just issued is
 * added, never replaced by an older reading of the store), and shrinks by rule: a certificate
 * counts only while `notAfter` is ahead and its serial is not revoked. So a store read that
 * raced an issuance cannot hide the new certificate, and a revocation (its serials arrive with
 * every reload) takes effect without reading certificates at all.
 */
import type { CertificateRecord } from '../store/store';

export class LiveCertificates {
  /** user → serial → notAfter (epoch ms). */
  private readonly byUser = new Map<string, Map<string, number>>();

  /** Adds the certificates that are neither revoked nor expired at `now`. */
  add(records: Iterable<Pick<CertificateRecord, 'serial' | 'user' | 'notAfter' | 'revokedAt'>>, now: number): void {
    for (const r of records) {
      if (r.revokedAt !== undefined || r.notAfter <= now) continue;
      let serials = this.byUser.get(r.user);
      if (!serials) {
        serials = new Map();
        this.byUser.set(r.user, serials);
      }
      serials.set(r.serial, r.notAfter);
    }
  }

  /** Forgets a user's certificates (the user was deleted, or is another user of the same name now). */
  forget(user: string): void {
    this.byUser.delete(user);
  }

  /**
   * When the last of the user's live certificates expires; undefined when they hold none at
   * `now`. Expired and revoked ones are dropped on the way.
   */
  validUntil(user: string, now: number, isRevoked: (serial: string) => boolean): number | undefined {
    const serials = this.byUser.get(user);
    if (!serials) return undefined;
    let latest: number | undefined;
    for (const [serial, notAfter] of serials) {
      // Revocation is for good, like expiry.
      if (notAfter <= now || isRevoked(serial)) serials.delete(serial);
      else latest = Math.max(latest ?? 0, notAfter);
    }
    if (serials.size === 0) this.byUser.delete(user);
    return latest;
  }

  /** Users with at least one certificate known and not yet dropped. */
  users(): IterableIterator<string> {
    return this.byUser.keys();
  }
}
