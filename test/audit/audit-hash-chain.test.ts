/**
 * The hash chain on its own: the canonical JSON a hash covers, and verifyChain telling a
 * modified, a removed and a reordered record apart, each at the right seq.
 */
import { auditEventHash, canonicalAuditJson, verifyChain, AUDIT_EVENT_FIELDS } from '../../control-plane/audit/audit-hash-chain';
import { createHash } from 'node:crypto';
import * as fc from 'fast-check';
import { auditEvent, chainOf, completionEvent, manyEvents } from './audit-fixtures';
import type { AuditEvent } from '../../control-plane/audit/audit-event';

describe('canonical JSON and the hash', () => {
  test('keys in code-point order, no whitespace, absent optional fields left out', () => {
    const json = canonicalAuditJson(auditEvent());
    const keys = Object.keys(JSON.parse(json) as object);
    expect(keys).toEqual([...keys].sort());
    expect(keys).not.toContain('status');
    expect(json).not.toMatch(/\n|": /);
    expect(JSON.parse(json)).toEqual(auditEvent());
  });

  test('the same event hashes the same whatever its key order, undefined or null fields, or extra properties', () => {
    const e = completionEvent();
    const reversed = Object.fromEntries(Object.entries(e).reverse()) as typeof e;
    const withNoise = { ...e, upgrade: undefined, seq: 9, prevHash: 'x', hash: 'y', extra: 1 } as unknown as typeof e;
    const withNull = { ...auditEvent(), status: null } as unknown as typeof e;
    expect(canonicalAuditJson(reversed)).toBe(canonicalAuditJson(e));
    expect(canonicalAuditJson(withNoise)).toBe(canonicalAuditJson(e));
    expect(canonicalAuditJson(withNull)).toBe(canonicalAuditJson(auditEvent()));
  });

  test('hash = sha256(prevHash + "\\n" + canonical JSON), hex', () => {
    const e = auditEvent();
    const expected = createHash('sha256').update(`abc\n${canonicalAuditJson(e)}`).digest('hex');
    expect(auditEventHash('abc', e)).toBe(expected);
    expect(auditEventHash('abc', e)).toMatch(/^[0-9a-f]{64}$/);
    expect(auditEventHash('abd', e)).not.toBe(expected);
  });

  test('every field counts: changing any one changes the hash', () => {
    const e = completionEvent({ upgrade: 'websocket' });
    const base = auditEventHash('', e);
    for (const field of AUDIT_EVENT_FIELDS) {
      const value = (e as unknown as Record<string, unknown>)[field];
      const changed = typeof value === 'number' ? value + 1 : Array.isArray(value) ? [...value, 'x'] : field === 'stage' ? 'progress' : field === 'decision' ? 'deny' : `${String(value)}x`;
      expect([field, auditEventHash('', { ...e, [field]: changed })]).not.toEqual([field, base]);
    }
  });
});

describe('canonical JSON, built as one literal, against the definition', () => {
  // The definition, written the plain way: AUDIT_EVENT_FIELDS in order, absent (undefined or
  // null) fields left out, one JSON.stringify. canonicalAuditJson must always agree with it.
  const reference = (event: AuditEvent): string => {
    const ordered: Record<string, unknown> = {};
    for (const field of AUDIT_EVENT_FIELDS) {
      const value = (event as unknown as Record<string, unknown>)[field];
      if (value !== undefined && value !== null) ordered[field] = value;
    }
    return JSON.stringify(ordered);
  };
  const referenceHash = (prevHash: string, event: AuditEvent) => createHash('sha256').update(`${prevHash}\n${reference(event)}`).digest('hex');

  test('with every field present, the keys are AUDIT_EVENT_FIELDS in that order', () => {
    const every = completionEvent({ upgrade: 'websocket', reportedBy: 'cluster', breakGlassId: 'bg-1' });
    expect(Object.keys(JSON.parse(canonicalAuditJson(every)) as object)).toEqual([...AUDIT_EVENT_FIELDS]);
  });

  test('any values, absent, null and extra properties included: the same text and hash as the definition', () => {
    // Any UTF-16 code unit, lone surrogates included: the hash must take the text as it always did.
    const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const text = fc.oneof(fc.string(), fc.string({ unit: anyCodeUnit, maxLength: 80 }));
    const value = fc.oneof(text, fc.constant(undefined), fc.constant(null), fc.integer(), fc.double(), fc.array(text, { maxLength: 3 }));
    const event = fc
      .tuple(fc.dictionary(fc.constantFrom(...AUDIT_EVENT_FIELDS), value), fc.dictionary(text, value, { maxKeys: 3 }), fc.boolean())
      .map(([fields, extra, extraFirst]) => (extraFirst ? { ...extra, ...fields } : { ...fields, ...extra }) as unknown as AuditEvent);
    fc.assert(
      fc.property(event, text, (e, prevHash) => {
        expect(canonicalAuditJson(e)).toBe(reference(e));
        expect(auditEventHash(prevHash, e)).toBe(referenceHash(prevHash, e));
      }),
      { numRuns: 3000 },
    );
  });

  test('realistic records: the same hashes as the definition', () => {
    for (const e of [...manyEvents(50), completionEvent(), completionEvent({ reportedBy: 'cluster' })]) {
      expect(auditEventHash('0'.repeat(64), e)).toBe(referenceHash('0'.repeat(64), e));
    }
  });
});

describe('reportedBy, a field added after records were written without it', () => {
  // A completion and a decision as literals, and their hashes as the code before reportedBy
  // existed computed them: the records already in a trail must keep verifying.
  const completion: AuditEvent = {
    stage: 'completion', time: '2026-03-04T05:06:07.089Z', requestId: '6f1c2a9e-0b7d-4d3e-9a51-2c8e7f40b1d3',
    user: 'alice', groups: ['dev', 'oncall'], sourceAddress: '10.0.0.7:51234', cluster: 'prod',
    verb: 'get', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'web',
    decision: 'allow', reason: 'rule 0 of AccessPolicy "dev-prod" allows get deployments in "shop"', policy: 'dev-prod', breakGlassId: '',
    method: 'GET', path: '/apis/apps/v1/namespaces/shop/deployments/web/scale', userAgent: 'kubectl/v1.34.4 (linux/amd64) kubernetes/abcdef',
    kubectlCommand: 'kubectl get', kubectlSession: 'sess-1', status: 200, bytesReceived: 312, bytesSent: 1834, durationMs: 12.5,
    upstreamAddress: '10.1.0.2:6443', responseFlags: ['-'], terminationDetails: '', upgrade: '',
  };
  const decision: AuditEvent = {
    stage: 'decision', time: '2026-03-04T05:06:07.089Z', requestId: '6f1c2a9e-0b7d-4d3e-9a51-2c8e7f40b1d3',
    user: 'alice', groups: ['dev', 'oncall'], sourceAddress: '10.0.0.7:51234', cluster: 'prod',
    verb: 'get', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'web',
    decision: 'allow', reason: 'rule 0 of AccessPolicy "dev-prod" allows get deployments in "shop"', policy: 'dev-prod', breakGlassId: '',
    method: 'GET', path: '/apis/apps/v1/namespaces/shop/deployments/web/scale', userAgent: 'kubectl/v1.34.4 (linux/amd64) kubernetes/abcdef',
    kubectlCommand: 'kubectl get', kubectlSession: 'sess-1',
  };
  const COMPLETION_HASH = '851b33f8c9f29240d2a7e78a366c68634813c7c255c9fb882cf363802f2e36eb';
  const DECISION_HASH_AFTER_ZEROS = 'b99c57bb6a109fba2f3d7bb8a23961566da8913703d54b2cfb4ce49e4942931e';

  test('an event without it hashes exactly as before the field existed', () => {
    expect(auditEventHash('', completion)).toBe(COMPLETION_HASH);
    expect(auditEventHash('0'.repeat(64), decision)).toBe(DECISION_HASH_AFTER_ZEROS);
    expect(canonicalAuditJson(completion)).not.toContain('reportedBy');
  });

  test('a cluster-reported record is hashed with it: changing or removing it is a modification', () => {
    const reported: AuditEvent = { ...completion, reportedBy: 'cluster' };
    expect(auditEventHash('', reported)).not.toBe(COMPLETION_HASH);
    expect(JSON.parse(canonicalAuditJson(reported))).toMatchObject({ reportedBy: 'cluster' });
    const [stored] = chainOf([reported]);
    expect(verifyChain([stored!])).toMatchObject({ ok: true });
    const { reportedBy, ...stripped } = stored!;
    void reportedBy;
    expect(verifyChain([stripped])).toMatchObject({ ok: false, problem: { kind: 'modified', seq: 1 } });
  });
});

describe('verifyChain', () => {
  const chain = () => chainOf(manyEvents(8));

  test('an intact chain verifies, from the origin or from a later point', () => {
    const events = chain();
    expect(verifyChain(events)).toEqual({ ok: true, checked: 8, last: { seq: 8, hash: events[7]!.hash } });
    expect(verifyChain(events.slice(3), { start: { seq: 3, hash: events[2]!.hash } })).toMatchObject({ ok: true, checked: 5 });
    expect(verifyChain([])).toEqual({ ok: true, checked: 0, last: { seq: 0, hash: '' } });
  });

  test('a modified record: hash mismatch at its seq', () => {
    const events = chain();
    events[4] = { ...events[4]!, verb: 'delete', user: 'mallory' };
    expect(verifyChain(events)).toEqual({
      ok: false,
      checked: 4,
      problem: { kind: 'modified', seq: 5, message: 'record 5 was modified: its content does not match its hash' },
    });
  });

  test('a record modified with its hash recomputed: named by the next record, which no longer links to it', () => {
    const events = chain();
    const forged = { ...events[4]!, decision: 'deny' as const };
    events[4] = { ...forged, hash: auditEventHash(forged.prevHash, forged) };
    const result = verifyChain(events);
    expect(result).toMatchObject({ ok: false, checked: 5, problem: { kind: 'modified', seq: 5 } });
    expect(!result.ok && result.problem.message).toBe('record 5 was modified and its hash recomputed: record 6 was chained to a different record 5');
  });

  test('removed records: a gap between N and M names the missing range', () => {
    const events = chain();
    expect(verifyChain([...events.slice(0, 3), ...events.slice(4)])).toEqual({
      ok: false,
      checked: 3,
      problem: { kind: 'removed', seq: 4, toSeq: 4, message: 'record 4 is missing: it was removed' },
    });
    expect(verifyChain([...events.slice(0, 2), ...events.slice(5)])).toMatchObject({ ok: false, problem: { kind: 'removed', seq: 3, toSeq: 5, message: 'records 3 to 5 are missing: they were removed' } });
    // From the start, too.
    expect(verifyChain(events.slice(2))).toMatchObject({ ok: false, checked: 0, problem: { kind: 'removed', seq: 1, toSeq: 2 } });
  });

  test('reordered records: out of seq order, or renumbered so a record follows the wrong predecessor', () => {
    const events = chain();
    const swapped = [...events];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    expect(verifyChain(swapped)).toEqual({
      ok: false,
      checked: 3,
      problem: { kind: 'reordered', seq: 5, message: 'record 5 comes before record 4: the records are out of order' },
    });
    // Renumbered in place (what swapping seq values in the database looks like when read in seq order).
    const renumbered = [...events];
    renumbered[3] = { ...events[4]!, seq: 4 };
    renumbered[4] = { ...events[3]!, seq: 5 };
    expect(verifyChain(renumbered)).toEqual({
      ok: false,
      checked: 3,
      problem: { kind: 'reordered', seq: 4, message: 'record 4 is chained to record 5, not to record 3 before it: the records were reordered' },
    });
    expect(verifyChain([events[0]!, events[0]!])).toMatchObject({ ok: false, problem: { kind: 'reordered', seq: 1, message: 'record 1 appears twice' } });
  });

  test('a record chained to one outside the events given is recognised through knownHashes', () => {
    const events = chain();
    const moved = [...events.slice(0, 3), { ...events[6]!, seq: 4 }];
    const withoutHint = verifyChain(moved);
    expect(withoutHint).toMatchObject({ ok: false, problem: { kind: 'modified', seq: 3, unmatchedPrevHash: events[5]!.hash } });
    expect(verifyChain(moved, { knownHashes: new Map([[events[5]!.hash, 6]]) })).toMatchObject({
      ok: false,
      problem: { kind: 'reordered', seq: 4, message: 'record 4 is chained to record 6, not to record 3 before it: the records were reordered' },
    });
  });

  test('after retention: the first record must continue from the anchor', () => {
    const events = chain();
    const anchor = { seq: 3, hash: events[2]!.hash };
    expect(verifyChain(events.slice(3), { start: anchor, startIsAnchor: true })).toMatchObject({ ok: true, checked: 5 });
    expect(verifyChain(events.slice(3), { start: { seq: 3, hash: 'f'.repeat(64) }, startIsAnchor: true })).toMatchObject({
      ok: false,
      checked: 0,
      problem: { kind: 'modified', seq: 4, message: 'record 4 does not continue from the chain anchor (record 3, the last one retention removed): the record or the anchor was modified' },
    });
    expect(verifyChain(events.slice(4), { start: anchor, startIsAnchor: true })).toMatchObject({ ok: false, problem: { kind: 'removed', seq: 4, toSeq: 4 } });
  });

  test('the first record ever must start the chain', () => {
    const [first] = chainOf([auditEvent()], { seq: 0, hash: 'a'.repeat(64) });
    expect(verifyChain([first!])).toMatchObject({ ok: false, problem: { kind: 'modified', seq: 1, message: 'record 1 was modified: it starts the chain but is chained to an earlier record' } });
  });
});

test('verifyChain: a record that comes after a later one is out of order', () => {
  const events = chainOf(manyEvents(5));
  expect(verifyChain([events[0]!, events[2]!, events[1]!])).toMatchObject({ ok: false, problem: { kind: 'reordered', seq: 3 } });
  expect(verifyChain([events[0]!, events[1]!, events[3]!, events[2]!])).toMatchObject({
    ok: false,
    problem: { kind: 'reordered', seq: 4, message: 'record 4 comes before record 3: the records are out of order' },
  });
  expect(verifyChain([events[1]!, events[0]!], { start: { seq: 1, hash: events[0]!.hash } })).toMatchObject({
    ok: false,
    checked: 1,
    problem: { kind: 'reordered', seq: 1, message: 'record 1 comes after record 2: the records are out of order' },
  });
});
