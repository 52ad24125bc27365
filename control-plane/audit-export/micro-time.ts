/**
 * Kubernetes' MicroTime on the wire: RFC 3339 in UTC with exactly six fractional digits
 * ("2006-01-02T15:04:05.000000Z07:00" in Go). metav1.MicroTime's decoder parses with that
 * layout, so fewer digits (JavaScript's milliseconds) would not decode: every timestamp kubegate
 * exports goes through here.
 */

export class AuditTimeError extends Error {
  readonly code = 'ERR_AUDIT_EXPORT_BAD_TIME';
  constructor(readonly value: string) {
    super(`audit event time "${value}" is not an ISO 8601 timestamp`);
    this.name = 'AuditTimeError';
  }
}

/** Microseconds since the Unix epoch of an ISO 8601 time such as AuditEvent.time. */
export function parseEpochMicros(iso: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new AuditTimeError(iso);
  return ms * 1000;
}

/** RFC 3339 with microseconds, UTC: 2024-05-01T12:00:00.123456Z. */
export function formatMicroTime(epochMicros: number): string {
  const micros = Math.round(epochMicros);
  const ms = Math.floor(micros / 1000);
  const extra = micros - ms * 1000;
  // toISOString always gives exactly three fractional digits and a Z.
  return `${new Date(ms).toISOString().slice(0, -1)}${String(extra).padStart(3, '0')}Z`;
}
