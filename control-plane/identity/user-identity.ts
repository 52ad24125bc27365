/**
 * How a kubegate user is named on the wire, in one place: the certificate's URI SAN that
 * identifies the user, and the TLS server name (SNI) that selects the user's own filter chain
 * at the edge. The kubeconfig writer, the translator and the authorizer all use these, so
 * they cannot drift apart.
 */
import { createHash } from 'node:crypto';

/** A user certificate's identity: kubegate://user/<percent-encoded name>. */
export const USER_URI_PREFIX = 'kubegate://user/';

/**
 * SNI names are <label>.<suffix>. `.invalid` is reserved (RFC 2606) and never resolves, which
 * is what we want: the name only selects a filter chain, the server URL still says where to
 * connect. The edge's serving certificate carries the wildcard *.<suffix>.
 */
export const DEFAULT_USER_SERVER_NAME_SUFFIX = 'users.kubegate.invalid';

/** What every user's server name starts with, ahead of the digest's hex digits. */
export const USER_LABEL_PREFIX = 'u-';

export function userUri(user: string): string {
  return USER_URI_PREFIX + encodeURIComponent(user);
}

/** The user a URI SAN names, or null when it is not a kubegate user URI. */
export function userFromUri(uri: string): string | null {
  if (!uri.startsWith(USER_URI_PREFIX)) return null;
  try {
    const name = decodeURIComponent(uri.slice(USER_URI_PREFIX.length));
    return name.length > 0 ? name : null;
  } catch {
    return null;
  }
}

/**
 * The server name a user's kubeconfig sends. User names may hold characters a DNS label may
 * not ('@', '.', '_', ':'), so the label is a digest of the name: stable, DNS-safe and
 * without revealing the name to anyone who sees the ClientHello.
 */
export function userServerName(user: string, suffix: string = DEFAULT_USER_SERVER_NAME_SUFFIX): string {
  const digest = createHash('sha256').update(user, 'utf8').digest('hex').slice(0, 32);
  return `${USER_LABEL_PREFIX}${digest}.${suffix}`;
}

/**
 * The edge may split users across shards (translator/listener.ts), chosen by the first hex
 * digits of the server name's digest, so that a change to one user's chain makes Envoy rebuild
 * a small listener rather than one holding every user. A shard count must be a power of two up
 * to 256: each shard is then a whole number of one- or two-digit hex prefixes, which is what
 * the edge's public listener matches on.
 */
export const MAX_USER_SHARDS = 256;

export function isUserShardCount(shards: number): boolean {
  return Number.isInteger(shards) && shards >= 1 && shards <= MAX_USER_SHARDS && (shards & (shards - 1)) === 0;
}

/** How many leading hex digits of the digest decide the shard: 0 for one shard, 1 up to 16, 2 up to 256. */
export function userShardPrefixDigits(shards: number): number {
  return shards === 1 ? 0 : shards <= 16 ? 1 : 2;
}

/**
 * The shard that hex digits of a digest (exactly userShardPrefixDigits(shards) of them) fall
 * in. The digest is uniform, so users spread evenly, and a user's shard never changes while the
 * shard count stays.
 */
export function userShardOfPrefix(hexDigits: string, shards: number): number {
  const digits = userShardPrefixDigits(shards);
  if (digits === 0) return 0;
  return Math.floor((parseInt(hexDigits.slice(0, digits), 16) * shards) / 16 ** digits);
}

/** The shard a user's server name (and so their filter chain and their connections) is in. */
export function userShard(user: string, shards: number): number {
  return userShardOfPrefix(userServerName(user).slice(USER_LABEL_PREFIX.length), shards);
}
