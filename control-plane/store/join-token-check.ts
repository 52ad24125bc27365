/**
 * Whether a stored join token may be consumed, shared by both implementations so they refuse
 * for the same reason in the same order: an unknown id, then a secret that does not match, then
 * a token already used, then one that has expired. The secret is checked before the token's
 * state, so someone who knows only a token id learns nothing about whether it is still usable.
 */
import { timingSafeEqual } from 'node:crypto';
import type { JoinTokenRecord, JoinTokenRejection } from './store';

/**
 * Why `token` (undefined: no such id) cannot be consumed with `secretHash` at `now`, or undefined
 * if it can. Install tokens (install-token.ts) are refused by the same rules.
 */
export function joinTokenRejection(token: Pick<JoinTokenRecord, 'secretHash' | 'usedAt' | 'expiresAt'> | undefined, secretHash: string, now: number): JoinTokenRejection | undefined {
  if (!token) return 'unknown';
  if (!sameHash(token.secretHash, secretHash)) return 'wrong-secret';
  if (token.usedAt !== undefined) return 'used';
  // Like a certificate's notAfter, expiresAt is the first instant the token no longer works.
  if (token.expiresAt <= now) return 'expired';
  return undefined;
}

/** Compares two hex hashes in constant time (for equal lengths; both are SHA-256 here). */
function sameHash(stored: string, presented: string): boolean {
  const a = Buffer.from(stored, 'hex');
  const b = Buffer.from(presented, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}
