/**
 * Sorts node-postgres errors into what the store reports: a lost or unusable connection
 * (StoreUnavailableError) versus everything else. pg reports network failures as Node errors
 * with an errno code, server-side refusals as DatabaseErrors with a SQLSTATE.
 */

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * SQLSTATE classes and codes that mean "cannot use this database now": connection exceptions
 * (08), invalid authorization (28), no such database (3D000), too many connections (53300),
 * operator intervention such as pg_terminate_backend or shutdown (57P01-57P03).
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code.startsWith('28') || code === '3D000' || code === '53300' || /^57P0[1-3]$/.test(code);
}

/**
 * Duck-typed rather than `instanceof Error`: errors from Node's net module can come from
 * another realm (a vm context, as under jest) and fail that check.
 */
export function isConnectionError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return NETWORK_CODES.has(code) || (code.length === 5 && isUnavailableSqlState(code));
  // pg's own messages for connections it gave up on carry no code.
  return typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i.test(message);
}

/** An error's message for a user, or its code when the message is empty (AggregateError). */
export function describeError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const { message, errors, code, name } = err as { message?: unknown; errors?: unknown; code?: unknown; name?: unknown };
  if (typeof message === 'string' && message !== '') return message;
  if (Array.isArray(errors) && errors.length > 0) return errors.map(describeError).join('; ');
  return typeof code === 'string' ? code : String(name ?? 'unknown error');
}

export const UNIQUE_VIOLATION = '23505';

export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 ? code : undefined;
}
