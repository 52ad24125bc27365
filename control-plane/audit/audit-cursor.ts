/**
 * Audit query cursors: where the next page starts. A cursor names a position in the chain (the
 * seq of the last event a page returned) and the direction of travel, so pages neither repeat
 * nor skip an event however many are appended meanwhile, and a cursor cannot be used to walk
 * the other way by mistake. Opaque to clients (base64url), so its form can change.
 */
import { StoreInputError } from '../store/store-input';
import type { AuditOrder } from './audit-log';

const VERSION = 'a1';

export interface AuditCursor {
  readonly order: AuditOrder;
  /** The next page holds events beyond this seq (below it for desc, above it for asc). */
  readonly seq: number;
}

/** A cursor the client made up, mangled or copied from another kind of listing. */
export class AuditCursorError extends StoreInputError {
  constructor(cursor: string) {
    super(`cursor ${JSON.stringify(cursor.length > 80 ? `${cursor.slice(0, 80)}…` : cursor)} is not a cursor of an audit query; pass the nextCursor of a previous page as it was`);
  }
}

export function encodeAuditCursor(cursor: AuditCursor): string {
  return Buffer.from(`${VERSION}:${cursor.order}:${cursor.seq}`, 'utf8').toString('base64url');
}

export function decodeAuditCursor(text: string): AuditCursor {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(text)) throw new AuditCursorError(String(text));
  const m = /^a1:(asc|desc):(0|[1-9]\d{0,15})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  const seq = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(seq)) throw new AuditCursorError(text);
  return { order: m[1] as AuditOrder, seq };
}
