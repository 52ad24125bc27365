/**
 * Why: an install link (`kubegate cluster add`) carries its own one-time token in its URL, in
 * the join token's shape ("<id>.<secret>", join-token.ts) so the same rules keep it: the id
 * finds the record and may be logged, only a SHA-256 of the secret is stored. A separate
 * error names what the operator pasted, so a join token is never confused with a link.
 */
import { hashJoinSecret, newJoinToken, type JoinTokenParts } from './join-token';

/** An install link's default and longest lifetime, and the shortest one may ask for. */
export const DEFAULT_INSTALL_TTL_MS = 15 * 60_000;
export const MIN_INSTALL_TTL_MS = 1_000;
export const MAX_INSTALL_TTL_MS = 24 * 3_600_000;

const TOKEN = /^([a-f0-9]{12})\.([A-Za-z0-9_-]{43})$/;

/** The text in an install link's path is not a token kubegate makes. */
export class MalformedInstallTokenError extends Error {
  readonly code = 'ERR_INSTALL_TOKEN_MALFORMED';
  constructor() {
    super('the install link is malformed: copy it whole from what `kubegate cluster add` printed');
    this.name = 'MalformedInstallTokenError';
  }
}

/** A new token; `text` goes into the link and is shown once. */
export const newInstallToken: () => JoinTokenParts & { readonly text: string } = newJoinToken;

export function parseInstallToken(text: string): JoinTokenParts {
  const m = TOKEN.exec(text);
  if (!m) throw new MalformedInstallTokenError();
  return { id: m[1]!, secret: m[2]! };
}

/** What the store keeps of the secret. */
export const hashInstallSecret: (secret: string) => string = hashJoinSecret;
