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
  return `u-${digest}.${suffix}`;
}
