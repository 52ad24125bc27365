/**
 * Join tokens: "<id>.<secret>". The id finds the record; only a SHA-256 of the secret is stored.
 * Printed once by `kubegate cluster join-token`, used once by an agent.
 */
import * as crypto from 'node:crypto';

const TOKEN = /^([a-f0-9]{12})\.([A-Za-z0-9_-]{43})$/;

export interface JoinTokenParts {
  readonly id: string;
  readonly secret: string;
}

/** A malformed token: the agent's operator pasted something else. */
export class MalformedJoinTokenError extends Error {
  readonly code = 'ERR_JOIN_TOKEN_MALFORMED';
  constructor() {
    super('the join token is malformed: expected "<12 hex digits>.<43 base64url characters>" as `kubegate cluster join-token` printed it');
    this.name = 'MalformedJoinTokenError';
  }
}

export function newJoinToken(): JoinTokenParts & { readonly text: string } {
  const id = crypto.randomBytes(6).toString('hex');
  const secret = crypto.randomBytes(32).toString('base64url');
  return { id, secret, text: `${id}.${secret}` };
}

export function parseJoinToken(text: string): JoinTokenParts {
  const m = TOKEN.exec(text.trim());
  if (!m) throw new MalformedJoinTokenError();
  return { id: m[1]!, secret: m[2]! };
}

export function hashJoinSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret).digest('hex');
}
