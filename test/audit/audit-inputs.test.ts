/**
 * What the audit log accepts before anything is stored (requireAuditEvent), query cursors,
 * and the times `--since`/`--until` and the API take.
 */
import { requireAuditEvent } from '../../control-plane/audit/audit-event-input';
import { AuditCursorError, decodeAuditCursor, encodeAuditCursor } from '../../control-plane/audit/audit-cursor';
import { AuditTimeError, parseAuditTime } from '../../control-plane/audit/audit-time';
import { StoreInputError } from '../../control-plane/store/store-input';
import { auditEvent, completionEvent, T0 } from './audit-fixtures';

describe('requireAuditEvent', () => {
  test('returns only AuditEvent fields, dropping null and undefined optional ones', () => {
    expect(requireAuditEvent(completionEvent())).toEqual(completionEvent());
    const noisy = { ...auditEvent(), status: null, upgrade: undefined, seq: 4, extra: 'x' };
    const clean = requireAuditEvent(noisy);
    expect(clean).toEqual(auditEvent());
    expect(Object.keys(clean)).not.toContain('status');
    expect(Object.keys(clean)).not.toContain('extra');
  });

  test.each([
    [{ stage: 'start' }, 'stage must be one of decision, progress, completion, got "start"'],
    [{ time: '2026-01-01T09:00:00Z' }, 'time must be an ISO 8601 time in UTC with milliseconds (as Date#toISOString writes it), got "2026-01-01T09:00:00Z"'],
    [{ time: '2026-02-30T09:00:00.000Z' }, 'time must be an ISO 8601 time in UTC with milliseconds (as Date#toISOString writes it), got "2026-02-30T09:00:00.000Z"'],
    [{ decision: 'ALLOW' }, 'decision must be allow or deny, got "ALLOW"'],
    [{ user: 7 }, 'user must be a string, got 7'],
    [{ groups: 'dev' }, 'groups must be an array of strings, got "dev"'],
    [{ groups: ['dev', 3] }, 'groups[1] must be a string, got 3'],
    [{ path: '/api\u0000' }, 'path contains a NUL character, which the audit store cannot keep'],
    [{ userAgent: 'kubectl \ud800' }, 'userAgent is not well-formed Unicode (a lone surrogate)'],
    [{ status: 200.5 }, 'status must be a non-negative integer, got 200.5'],
    [{ bytesSent: -1 }, 'bytesSent must be a non-negative integer, got -1'],
    [{ durationMs: Number.NaN }, 'durationMs must be a non-negative number, got NaN'],
    [{ responseFlags: [1] }, 'responseFlags[0] must be a string, got 1'],
    [{ reportedBy: 'edge' }, 'reportedBy must be cluster (or absent for the edge), got "edge"'],
    [{ reportedBy: 1 }, 'reportedBy must be cluster (or absent for the edge), got 1'],
  ])('refuses %j', (over, message) => {
    const err = (() => {
      try {
        requireAuditEvent({ ...auditEvent({ requestId: 'r-1' }), ...over }, 3);
      } catch (e) {
        return e as Error;
      }
      throw new Error('accepted');
    })();
    expect(err).toBeInstanceOf(StoreInputError);
    expect(err.message).toBe(`audit event 3 (request "r-1"): ${message}`);
  });

  test("a cluster's record keeps reportedBy; an edge's has none (null counts as absent)", () => {
    expect(requireAuditEvent(completionEvent({ reportedBy: 'cluster' }))).toEqual({ ...completionEvent(), reportedBy: 'cluster' });
    expect(Object.keys(requireAuditEvent({ ...completionEvent(), reportedBy: null }))).not.toContain('reportedBy');
  });

  test('surrogate pairs (emoji) are fine', () => {
    expect(requireAuditEvent(auditEvent({ userAgent: 'kubectl 🚀' })).userAgent).toBe('kubectl 🚀');
  });
});

describe('audit cursors', () => {
  test('round-trip, opaque, and refuse anything else', () => {
    const text = encodeAuditCursor({ order: 'desc', seq: 1234 });
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeAuditCursor(text)).toEqual({ order: 'desc', seq: 1234 });
    for (const bad of ['', 'abc', 'a1:desc:5', Buffer.from('a1:up:5').toString('base64url'), Buffer.from('a1:asc:-5').toString('base64url'), Buffer.from('a1:asc:99999999999999999').toString('base64url')]) {
      expect(() => decodeAuditCursor(bad)).toThrow(AuditCursorError);
    }
  });
});

describe('parseAuditTime', () => {
  const now = T0 + 86_400_000;
  test('RFC 3339 times, with Z, offsets or fractions', () => {
    expect(parseAuditTime('2026-01-01T09:00:00Z', now)).toBe(T0);
    expect(parseAuditTime('2026-01-01T10:30:00+01:30', now)).toBe(T0);
    expect(parseAuditTime('2026-01-01T09:00:00.250Z', now)).toBe(T0 + 250);
  });
  test('durations count back from now', () => {
    expect(parseAuditTime('15m', now)).toBe(now - 15 * 60_000);
    expect(parseAuditTime('7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseAuditTime('1h30m', now)).toBe(now - 90 * 60_000);
  });
  test.each(['yesterday', '2026-01-01', '2026-13-01T00:00:00Z', '2026-02-29T00:00:00Z', '2026-01-01T24:00:00Z', '-5m', ''])('refuses %j', (text) => {
    expect(() => parseAuditTime(text, now)).toThrow(AuditTimeError);
  });
});
