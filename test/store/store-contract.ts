/**
 * The Store contract as tests, run unchanged against every implementation: each
 * implementation's test file calls describeStoreContract with a function that opens a store on
 * a fresh, empty database. What is specific to one database (reopening a SQLite file, a second
 * PostgreSQL replica) lives in that implementation's own test file.
 */
import { createHash } from 'node:crypto';
import {
  JoinTokenRejectedError,
  StoreConflictError,
  StoreNotFoundError,
  StoreUnavailableError,
  type BreakGlassRecord,
  type ClusterRecord,
  type JoinTokenRecord,
  type JoinTokenRejection,
  type Store,
} from '../../control-plane/store/store';
import { StoreInputError } from '../../control-plane/store/store-input';
import { recordChanges } from './change-recorder';

export const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export function breakGlassRequest(id: string, over: Partial<Omit<BreakGlassRecord, 'revision'>> = {}): Omit<BreakGlassRecord, 'revision'> {
  return { id, policy: 'prod-emergency', user: 'alice', cluster: 'prod', justification: 'INC-1234: API down', durationMs: HOUR, requestedAt: T0, approvals: [], state: 'pending', ...over };
}

/** Lowercase hex SHA-256, as the store keeps a join token's secret. */
export function sha256(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function joinToken(id: string, over: Partial<Omit<JoinTokenRecord, 'usedAt'>> = {}): Omit<JoinTokenRecord, 'usedAt'> {
  return { id, cluster: 'prod-eu', secretHash: sha256(`secret of ${id}`), createdAt: T0, createdBy: 'admin', expiresAt: T0 + HOUR, ...over };
}

export function clusterRecord(name: string, over: Partial<ClusterRecord> = {}): ClusterRecord {
  return {
    name,
    labels: { env: 'prod', region: 'eu-1' },
    kubernetesVersion: 'v1.34.4',
    apiserverCaPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    apiserverHost: '10.96.0.1',
    apiserverPort: 443,
    agentVersion: '0.1.0',
    agentCertificateSerial: '0a1b2c',
    registeredAt: T0,
    lastSeenAt: T0,
    ...over,
  };
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export function describeStoreContract(name: string, openEmptyStore: () => Promise<Store>): void {
  describe(`${name} honours the Store contract`, () => {
    let store: Store;
    let closeLater: Store[] = [];

    beforeEach(async () => {
      store = await openEmptyStore();
      closeLater.push(store);
    });
    afterEach(async () => {
      await Promise.all(closeLater.map((s) => s.close()));
      closeLater = [];
    });

    describe('users', () => {
      test('createUser keeps groups sorted without duplicates; getUser and listUsers return what was stored', async () => {
        const bob = await store.createUser({ name: 'bob', groups: ['ops', 'dev', 'ops', 'Admins'], now: T0 });
        expect(bob).toEqual({ name: 'bob', groups: ['Admins', 'dev', 'ops'], disabled: false, createdAt: T0, updatedAt: T0, credentialRevision: 0 });
        const alice = await store.createUser({ name: 'alice', groups: [], now: T0 + 1 });
        expect(await store.getUser('bob')).toEqual(bob);
        expect(await store.listUsers()).toEqual([alice, bob]);
        expect(await store.getUser('carol')).toBeUndefined();
      });

      test('a second user of the same name is a conflict that names the user, and changes nothing', async () => {
        const first = await store.createUser({ name: 'alice', groups: ['dev'], now: T0 });
        const err = await rejection(store.createUser({ name: 'alice', groups: ['ops'], now: T0 + 1 }));
        expect(err).toBeInstanceOf(StoreConflictError);
        expect(err).toMatchObject({ code: 'ERR_STORE_CONFLICT', message: 'user "alice" already exists' });
        expect(await store.getUser('alice')).toEqual(first);
      });

      test('setUserGroups replaces the membership and advances updatedAt only', async () => {
        await store.createUser({ name: 'alice', groups: ['dev', 'ops'], now: T0 });
        const updated = await store.setUserGroups('alice', ['sre', 'audit', 'sre'], T0 + MINUTE);
        expect(updated).toEqual({ name: 'alice', groups: ['audit', 'sre'], disabled: false, createdAt: T0, updatedAt: T0 + MINUTE, credentialRevision: 0 });
        expect(await store.getUser('alice')).toEqual(updated);
        expect((await store.setUserGroups('alice', [], T0 + 2 * MINUTE)).groups).toEqual([]);
      });

      test('setUserDisabled flips the flag and advances updatedAt', async () => {
        await store.createUser({ name: 'alice', groups: [], now: T0 });
        expect(await store.setUserDisabled('alice', true, T0 + 5)).toMatchObject({ disabled: true, updatedAt: T0 + 5, createdAt: T0 });
        expect(await store.getUser('alice')).toMatchObject({ disabled: true });
        expect(await store.setUserDisabled('alice', false, T0 + 6)).toMatchObject({ disabled: false, updatedAt: T0 + 6 });
      });

      test('changing or deleting a user that does not exist is not-found, naming the user', async () => {
        for (const call of [
          () => store.setUserGroups('ghost', ['dev'], T0),
          () => store.setUserDisabled('ghost', true, T0),
          () => store.deleteUser('ghost'),
          () => store.revokeUser('ghost', T0, 'admin'),
        ]) {
          const err = await rejection(call());
          expect(err).toBeInstanceOf(StoreNotFoundError);
          expect(err).toMatchObject({ code: 'ERR_STORE_NOT_FOUND', message: 'user "ghost" does not exist' });
        }
      });

      test("deleteUser removes the user with their certificates and sessions, and nobody else's", async () => {
        await store.createUser({ name: 'alice', groups: ['dev'], now: T0 });
        await store.createUser({ name: 'bob', groups: ['dev'], now: T0 });
        await store.recordCertificate({ serial: 'a1', user: 'alice', notBefore: T0, notAfter: T0 + HOUR, issuedAt: T0 });
        await store.recordCertificate({ serial: 'b1', user: 'bob', notBefore: T0, notAfter: T0 + HOUR, issuedAt: T0 });
        await store.createSession({ id: 's-alice', user: 'alice', now: T0 });
        await store.createSession({ id: 's-bob', user: 'bob', now: T0 });

        await store.deleteUser('alice');

        expect(await store.getUser('alice')).toBeUndefined();
        expect(await store.listCertificates('alice')).toEqual([]);
        expect(await store.getSession('s-alice')).toBeUndefined();
        expect((await store.listUsers()).map((u) => u.name)).toEqual(['bob']);
        expect((await store.listCertificates('bob')).map((c) => c.serial)).toEqual(['b1']);
        expect(await store.getSession('s-bob')).toMatchObject({ user: 'bob' });
        // The name is free again, and the new alice starts with nothing.
        await store.createUser({ name: 'alice', groups: [], now: T0 + 1 });
        expect(await store.listCertificates('alice')).toEqual([]);
      });

      test('malformed input is refused with a message naming the field, before anything changes', async () => {
        const before = await store.generation();
        const cases: [() => Promise<unknown>, string][] = [
          [() => store.createUser({ name: '', groups: [], now: T0 }), 'user name must be a non-empty string'],
          [() => store.createUser({ name: ' alice', groups: [], now: T0 }), 'user name " alice" has leading or trailing whitespace'],
          [() => store.createUser({ name: 'alice', groups: ['dev', ''], now: T0 }), 'groups[1] must be a non-empty string'],
          [() => store.createUser({ name: 'alice', groups: [], now: -1 }), 'now must be a time in epoch milliseconds (a non-negative integer), got -1'],
          [() => store.createGroup({ name: 'a\nb', now: T0 }), 'group name "a\\nb" contains control characters'],
          [() => store.getUser(''), 'user name must be a non-empty string'],
          [() => store.createSession({ id: '', user: 'alice', now: T0 }), 'session id must be a non-empty string'],
        ];
        for (const [call, message] of cases) {
          const err = await rejection(call());
          expect(err).toBeInstanceOf(StoreInputError);
          expect(err).toMatchObject({ code: 'ERR_STORE_INVALID_INPUT', message });
        }
        expect(await store.generation()).toBe(before);
        expect(await store.listUsers()).toEqual([]);
      });
    });

    describe('groups', () => {
      test('createGroup defaults the description; listGroups is sorted by name; a duplicate is a conflict', async () => {
        const ops = await store.createGroup({ name: 'ops', now: T0 });
        expect(ops).toEqual({ name: 'ops', description: '', createdAt: T0 });
        const dev = await store.createGroup({ name: 'dev', description: 'Developers', now: T0 + 1 });
        expect(await store.listGroups()).toEqual([dev, ops]);
        const err = await rejection(store.createGroup({ name: 'ops', description: 'again', now: T0 + 2 }));
        expect(err).toBeInstanceOf(StoreConflictError);
        expect(err.message).toBe('group "ops" already exists');
        expect(await store.listGroups()).toEqual([dev, ops]);
      });

      test("deleteGroup removes the record and the group from every member, advancing only the members' updatedAt", async () => {
        await store.createGroup({ name: 'dev', now: T0 });
        await store.createGroup({ name: 'ops', now: T0 });
        await store.createUser({ name: 'alice', groups: ['dev', 'ops'], now: T0 });
        await store.createUser({ name: 'bob', groups: ['dev'], now: T0 });
        const carol = await store.createUser({ name: 'carol', groups: ['ops'], now: T0 });

        await store.deleteGroup('dev', T0 + HOUR);

        expect((await store.listGroups()).map((g) => g.name)).toEqual(['ops']);
        expect(await store.getUser('alice')).toMatchObject({ groups: ['ops'], updatedAt: T0 + HOUR });
        expect(await store.getUser('bob')).toMatchObject({ groups: [], updatedAt: T0 + HOUR });
        expect(await store.getUser('carol')).toEqual(carol);
      });

      test('deleteGroup of a group with no record is not-found, even when users carry it (an IdP group)', async () => {
        await store.createUser({ name: 'alice', groups: ['idp-admins'], now: T0 });
        const err = await rejection(store.deleteGroup('idp-admins', T0));
        expect(err).toBeInstanceOf(StoreNotFoundError);
        expect(err.message).toBe('group "idp-admins" does not exist');
        expect((await store.getUser('alice'))!.groups).toEqual(['idp-admins']);
      });
    });

    describe('certificates', () => {
      beforeEach(async () => {
        await store.createUser({ name: 'alice', groups: [], now: T0 });
      });

      test('recordCertificate and listCertificates round-trip, oldest issued first', async () => {
        const later = { serial: '0f3a', user: 'alice', notBefore: T0 + HOUR, notAfter: T0 + 9 * HOUR, issuedAt: T0 + HOUR };
        const earlier = { serial: 'ff01', user: 'alice', notBefore: T0, notAfter: T0 + 8 * HOUR, issuedAt: T0, revokedAt: T0 + 30 * MINUTE };
        await store.recordCertificate(later);
        await store.recordCertificate(earlier);
        expect(await store.listCertificates('alice')).toEqual([earlier, later]);
        expect(await store.listCertificates('nobody')).toEqual([]);
      });

      test('a serial recorded twice is a conflict naming the serial', async () => {
        await store.recordCertificate({ serial: 'abc123', user: 'alice', notBefore: T0, notAfter: T0 + HOUR, issuedAt: T0 });
        const err = await rejection(store.recordCertificate({ serial: 'abc123', user: 'alice', notBefore: T0, notAfter: T0 + 2 * HOUR, issuedAt: T0 }));
        expect(err).toBeInstanceOf(StoreConflictError);
        expect(err.message).toBe('certificate serial abc123 is already recorded');
        expect((await store.listCertificates('alice'))[0]!.notAfter).toBe(T0 + HOUR);
      });

      test('a certificate for an unknown user is not-found; malformed serials and validity are refused', async () => {
        const ghost = await rejection(store.recordCertificate({ serial: '01', user: 'ghost', notBefore: T0, notAfter: T0 + HOUR, issuedAt: T0 }));
        expect(ghost).toBeInstanceOf(StoreNotFoundError);
        expect(ghost.message).toBe('user "ghost" does not exist');
        const colons = await rejection(store.recordCertificate({ serial: 'AB:CD', user: 'alice', notBefore: T0, notAfter: T0 + HOUR, issuedAt: T0 }));
        expect(colons).toBeInstanceOf(StoreInputError);
        expect(colons.message).toBe('certificate serial must be lowercase hex without separators, got "AB:CD"');
        const backwards = await rejection(store.recordCertificate({ serial: '02', user: 'alice', notBefore: T0, notAfter: T0, issuedAt: T0 }));
        expect(backwards).toBeInstanceOf(StoreInputError);
        expect(backwards.message).toBe('certificate 02 notAfter must be later than its notBefore');
        expect(await store.listCertificates('alice')).toEqual([]);
      });
    });

    describe('revokeUser', () => {
      test('revokes certificates, ends sessions, cancels live break-glass and advances credentialRevision, in one change', async () => {
        await store.createUser({ name: 'alice', groups: ['dev'], now: T0 });
        await store.createUser({ name: 'bob', groups: [], now: T0 });
        await store.recordCertificate({ serial: 'a1', user: 'alice', notBefore: T0, notAfter: T0 + 8 * HOUR, issuedAt: T0 });
        await store.recordCertificate({ serial: 'a2', user: 'alice', notBefore: T0 - DAY, notAfter: T0 - HOUR, issuedAt: T0 - DAY });
        await store.recordCertificate({ serial: 'a3', user: 'alice', notBefore: T0, notAfter: T0 + HOUR, issuedAt: T0, revokedAt: T0 + 1 });
        await store.recordCertificate({ serial: 'b1', user: 'bob', notBefore: T0, notAfter: T0 + HOUR, issuedAt: T0 });
        await store.createSession({ id: 'open', user: 'alice', now: T0 });
        await store.createSession({ id: 'ended', user: 'alice', now: T0 });
        await store.endSession('ended', T0 + 2);
        await store.createSession({ id: 'bobs', user: 'bob', now: T0 });
        await store.createBreakGlass(breakGlassRequest('pending'));
        const active = await store.createBreakGlass(breakGlassRequest('active', { state: 'active', activatedAt: T0, expiresAt: T0 + HOUR, approvals: [{ approver: 'carol', at: T0 }] }));
        await store.createBreakGlass(breakGlassRequest('rejected', { state: 'rejected', endedBy: 'carol', endReason: 'no incident' }));
        await store.createBreakGlass(breakGlassRequest('bobs', { user: 'bob' }));

        const before = await store.generation();
        const recorder = recordChanges(store);
        const now = T0 + 10 * MINUTE;
        const result = await store.revokeUser('alice', now, 'security-team');

        expect(result.revokedCertificates).toBe(2);
        expect(result.user).toEqual({ name: 'alice', groups: ['dev'], disabled: false, createdAt: T0, updatedAt: now, credentialRevision: 1 });
        expect(await store.getUser('alice')).toEqual(result.user);
        const certs = Object.fromEntries((await store.listCertificates('alice')).map((c) => [c.serial, c.revokedAt]));
        expect(certs).toEqual({ a1: now, a2: now, a3: T0 + 1 });
        expect((await store.listCertificates('bob'))[0]!.revokedAt).toBeUndefined();
        expect(await store.getSession('open')).toMatchObject({ endedAt: now });
        expect(await store.getSession('ended')).toMatchObject({ endedAt: T0 + 2 });
        expect((await store.getSession('bobs'))!.endedAt).toBeUndefined();
        expect(await store.getBreakGlass('pending')).toMatchObject({ state: 'cancelled', endedBy: 'security-team', endReason: 'revoked', revision: 1 });
        expect(await store.getBreakGlass('active')).toEqual({ ...active, state: 'cancelled', endedBy: 'security-team', endReason: 'revoked', revision: 1 });
        expect(await store.getBreakGlass('rejected')).toMatchObject({ state: 'rejected', endedBy: 'carol', endReason: 'no incident', revision: 0 });
        expect(await store.getBreakGlass('bobs')).toMatchObject({ state: 'pending', revision: 0 });
        // One transaction: one generation step, one notification.
        expect(await store.generation()).toBe(before + 1);
        expect(recorder.changes).toEqual([{ generation: before + 1 }]);

        // Revoking again finds nothing left to revoke but still advances the revision.
        const again = await store.revokeUser('alice', now + 1, 'security-team');
        expect(again.revokedCertificates).toBe(0);
        expect(again.user.credentialRevision).toBe(2);
      });

      test('a cancellation by revokeUser wins over an approval computed from the old record', async () => {
        await store.createUser({ name: 'alice', groups: [], now: T0 });
        const pending = await store.createBreakGlass(breakGlassRequest('bg-1'));
        await store.revokeUser('alice', T0 + 1, 'security-team');
        const err = await rejection(store.updateBreakGlass({ ...pending, state: 'active', activatedAt: T0 + 2, expiresAt: T0 + 2 + HOUR }));
        expect(err).toBeInstanceOf(StoreConflictError);
        expect(await store.getBreakGlass('bg-1')).toMatchObject({ state: 'cancelled' });
      });
    });

    describe('policy set', () => {
      test('starts at revision 0 with no files', async () => {
        expect(await store.getPolicySet()).toEqual({ revision: 0, files: [], appliedAt: 0, appliedBy: '' });
      });

      test('applyPolicySet replaces the whole set, keeps file order and advances the revision', async () => {
        const first = await store.applyPolicySet({
          files: [
            { fileName: 'zz-last.yaml', text: 'kind: AccessPolicy\n' },
            { fileName: 'aa-first.yaml', text: 'kind: ClusterSettings\n' },
          ],
          appliedAt: T0,
          appliedBy: 'alice',
          expectedRevision: 0,
        });
        expect(first).toEqual({
          revision: 1,
          files: [
            { fileName: 'zz-last.yaml', text: 'kind: AccessPolicy\n' },
            { fileName: 'aa-first.yaml', text: 'kind: ClusterSettings\n' },
          ],
          appliedAt: T0,
          appliedBy: 'alice',
        });
        expect(await store.getPolicySet()).toEqual(first);
        const second = await store.applyPolicySet({ files: [{ fileName: 'only.yaml', text: 'x: 1' }], appliedAt: T0 + HOUR, appliedBy: 'bob', expectedRevision: 1 });
        expect(second).toEqual({ revision: 2, files: [{ fileName: 'only.yaml', text: 'x: 1' }], appliedAt: T0 + HOUR, appliedBy: 'bob' });
        expect(await store.getPolicySet()).toEqual(second);
      });

      test('a stale expectedRevision is a conflict that changes nothing and notifies nobody', async () => {
        const applied = await store.applyPolicySet({ files: [{ fileName: 'a.yaml', text: 'a' }], appliedAt: T0, appliedBy: 'alice', expectedRevision: 0 });
        const generation = await store.generation();
        const recorder = recordChanges(store);
        const err = await rejection(store.applyPolicySet({ files: [{ fileName: 'b.yaml', text: 'b' }], appliedAt: T0 + 1, appliedBy: 'bob', expectedRevision: 0 }));
        expect(err).toBeInstanceOf(StoreConflictError);
        expect(err.message).toBe('policy set is at revision 1, not 0: someone applied in between; reload and apply again');
        expect(await store.getPolicySet()).toEqual(applied);
        expect(await store.generation()).toBe(generation);
        expect(recorder.changes).toEqual([]);
      });

      test('a file name given twice is refused', async () => {
        const err = await rejection(
          store.applyPolicySet({ files: [{ fileName: 'a.yaml', text: '1' }, { fileName: 'a.yaml', text: '2' }], appliedAt: T0, appliedBy: 'alice', expectedRevision: 0 }),
        );
        expect(err).toBeInstanceOf(StoreInputError);
        expect(err.message).toBe('policy file "a.yaml" appears twice in one policy set');
        expect((await store.getPolicySet()).revision).toBe(0);
      });
    });

    describe('break-glass', () => {
      test('createBreakGlass starts at revision 0 and round-trips every field; a duplicate id is a conflict', async () => {
        const full = breakGlassRequest('bg-1', {
          approvals: [
            { approver: 'carol', at: T0 + 1 },
            { approver: 'dave', at: T0 + 2 },
          ],
          state: 'active',
          activatedAt: T0 + 2,
          expiresAt: T0 + 2 + HOUR,
        });
        const created = await store.createBreakGlass(full);
        expect(created).toEqual({ ...full, revision: 0 });
        expect(await store.getBreakGlass('bg-1')).toEqual(created);
        expect(await store.getBreakGlass('bg-2')).toBeUndefined();
        const err = await rejection(store.createBreakGlass(breakGlassRequest('bg-1', { user: 'mallory' })));
        expect(err).toBeInstanceOf(StoreConflictError);
        expect(err.message).toBe('break-glass request "bg-1" already exists');
        expect(await store.getBreakGlass('bg-1')).toEqual(created);
      });

      test('listBreakGlass is newest first and filters by user and state', async () => {
        await store.createBreakGlass(breakGlassRequest('old', { requestedAt: T0 }));
        await store.createBreakGlass(breakGlassRequest('newest', { requestedAt: T0 + 2 * HOUR, user: 'bob' }));
        await store.createBreakGlass(breakGlassRequest('middle', { requestedAt: T0 + HOUR, state: 'rejected', endedBy: 'carol', endReason: 'no' }));
        const ids = (list: BreakGlassRecord[]) => list.map((r) => r.id);
        expect(ids(await store.listBreakGlass())).toEqual(['newest', 'middle', 'old']);
        expect(ids(await store.listBreakGlass({ user: 'alice' }))).toEqual(['middle', 'old']);
        expect(ids(await store.listBreakGlass({ states: ['pending'] }))).toEqual(['newest', 'old']);
        expect(ids(await store.listBreakGlass({ user: 'alice', states: ['pending', 'rejected'] }))).toEqual(['middle', 'old']);
        expect(ids(await store.listBreakGlass({ states: [] }))).toEqual([]);
        expect(ids(await store.listBreakGlass({ user: 'nobody' }))).toEqual([]);
      });

      test('updateBreakGlass replaces the record at the expected revision and advances it by one', async () => {
        const created = await store.createBreakGlass(breakGlassRequest('bg-1'));
        const approved = await store.updateBreakGlass({ ...created, approvals: [{ approver: 'carol', at: T0 + 5 }], state: 'active', activatedAt: T0 + 5, expiresAt: T0 + 5 + HOUR });
        expect(approved).toEqual({ ...created, approvals: [{ approver: 'carol', at: T0 + 5 }], state: 'active', activatedAt: T0 + 5, expiresAt: T0 + 5 + HOUR, revision: 1 });
        expect(await store.getBreakGlass('bg-1')).toEqual(approved);
        const ended = await store.updateBreakGlass({ ...approved, state: 'cancelled', endedBy: 'alice', endReason: 'done early' });
        expect(ended).toMatchObject({ state: 'cancelled', endedBy: 'alice', endReason: 'done early', revision: 2 });
      });

      test('of two updates from the same revision, the second is a conflict and the first stays', async () => {
        const read = await store.createBreakGlass(breakGlassRequest('bg-1'));
        const byCarol = await store.updateBreakGlass({ ...read, approvals: [{ approver: 'carol', at: T0 + 1 }] });
        const err = await rejection(store.updateBreakGlass({ ...read, state: 'rejected', endedBy: 'dave', endReason: 'no' }));
        expect(err).toBeInstanceOf(StoreConflictError);
        expect(err.message).toBe('break-glass request "bg-1" is at revision 1, not 0: it changed in between; reload and retry');
        expect(await store.getBreakGlass('bg-1')).toEqual(byCarol);
      });

      test('updating a request that does not exist is not-found; malformed records are refused', async () => {
        const err = await rejection(store.updateBreakGlass({ ...breakGlassRequest('ghost'), revision: 0 }));
        expect(err).toBeInstanceOf(StoreNotFoundError);
        expect(err.message).toBe('break-glass request "ghost" does not exist');
        const bad = await rejection(store.createBreakGlass({ ...breakGlassRequest('bg-1'), state: 'approved' as never }));
        expect(bad).toBeInstanceOf(StoreInputError);
        expect(bad.message).toBe('break-glass "bg-1" state must be one of pending, active, expired, rejected, cancelled, got "approved"');
        const zero = await rejection(store.createBreakGlass(breakGlassRequest('bg-1', { durationMs: 0 })));
        expect(zero.message).toBe('break-glass "bg-1" durationMs must be positive');
        expect(await store.listBreakGlass()).toEqual([]);
      });
    });

    describe('console sessions', () => {
      beforeEach(async () => {
        await store.createUser({ name: 'alice', groups: [], now: T0 });
      });

      test('createSession records creation as the first activity; unknown users and duplicate ids are refused', async () => {
        const s = await store.createSession({ id: 'sess-1', user: 'alice', now: T0 + 1 });
        expect(s).toEqual({ id: 'sess-1', user: 'alice', createdAt: T0 + 1, lastActiveAt: T0 + 1 });
        expect(await store.getSession('sess-1')).toEqual(s);
        expect(await store.getSession('sess-2')).toBeUndefined();
        const ghost = await rejection(store.createSession({ id: 'sess-2', user: 'ghost', now: T0 }));
        expect(ghost).toBeInstanceOf(StoreNotFoundError);
        expect(ghost.message).toBe('user "ghost" does not exist');
        const dup = await rejection(store.createSession({ id: 'sess-1', user: 'alice', now: T0 + 2 }));
        expect(dup).toBeInstanceOf(StoreConflictError);
        expect(dup.message).toBe('session "sess-1" already exists');
      });

      test('touchSession records activity without advancing the generation, and tells watchers which session', async () => {
        await store.createSession({ id: 'sess-1', user: 'alice', now: T0 });
        const generation = await store.generation();
        const recorder = recordChanges(store);
        const touched = await store.touchSession('sess-1', T0 + MINUTE);
        expect(touched).toEqual({ id: 'sess-1', user: 'alice', createdAt: T0, lastActiveAt: T0 + MINUTE });
        expect(await store.generation()).toBe(generation);
        expect(recorder.changes).toEqual([{ generation, sessionActivity: touched }]);
        // A late report from a replica with a slower clock does not move activity back.
        expect((await store.touchSession('sess-1', T0 + 30_000)).lastActiveAt).toBe(T0 + MINUTE);
      });

      test('endSession ends it once; touching or ending sessions that are gone or ended fails or changes nothing', async () => {
        await store.createSession({ id: 'sess-1', user: 'alice', now: T0 });
        const ended = await store.endSession('sess-1', T0 + HOUR);
        expect(ended).toEqual({ id: 'sess-1', user: 'alice', createdAt: T0, lastActiveAt: T0, endedAt: T0 + HOUR });
        const generation = await store.generation();
        expect(await store.endSession('sess-1', T0 + 2 * HOUR)).toEqual(ended);
        expect(await store.generation()).toBe(generation);

        const touchEnded = await rejection(store.touchSession('sess-1', T0 + 2 * HOUR));
        expect(touchEnded).toBeInstanceOf(StoreConflictError);
        expect(touchEnded.message).toBe(`session "sess-1" ended at ${T0 + HOUR}; it can have no more activity`);
        for (const call of [() => store.touchSession('nope', T0), () => store.endSession('nope', T0)]) {
          const err = await rejection(call());
          expect(err).toBeInstanceOf(StoreNotFoundError);
          expect(err.message).toBe('session "nope" does not exist');
        }
        expect(await store.getSession('sess-1')).toEqual(ended);
      });
    });

    describe('join tokens', () => {
      test('createJoinToken stores the token unused; listJoinTokens is newest first and filters by cluster; a duplicate id is a conflict', async () => {
        const first = await store.createJoinToken(joinToken('tok-1'));
        expect(first).toEqual(joinToken('tok-1'));
        expect(first).not.toHaveProperty('usedAt');
        const second = await store.createJoinToken(joinToken('tok-2', { cluster: 'staging', createdAt: T0 + MINUTE, expiresAt: T0 + DAY }));
        const third = await store.createJoinToken(joinToken('tok-3', { createdAt: T0 + 2 * MINUTE, createdBy: 'carol' }));
        expect(await store.listJoinTokens()).toEqual([third, second, first]);
        expect(await store.listJoinTokens({ cluster: 'prod-eu' })).toEqual([third, first]);
        expect(await store.listJoinTokens({ cluster: 'staging' })).toEqual([second]);
        expect(await store.listJoinTokens({ cluster: 'nowhere' })).toEqual([]);

        const generation = await store.generation();
        const err = await rejection(store.createJoinToken(joinToken('tok-1', { cluster: 'staging', secretHash: sha256('other') })));
        expect(err).toBeInstanceOf(StoreConflictError);
        expect(err).toMatchObject({ code: 'ERR_STORE_CONFLICT', message: 'join token "tok-1" already exists' });
        expect(await store.generation()).toBe(generation);
        expect(await store.listJoinTokens({ cluster: 'prod-eu' })).toEqual([third, first]);
      });

      test('consumeJoinToken marks the token used and returns it, in one change that watchers hear of', async () => {
        await store.createJoinToken(joinToken('tok-1'));
        const generation = await store.generation();
        const recorder = recordChanges(store);
        const used = await store.consumeJoinToken('tok-1', sha256('secret of tok-1'), T0 + MINUTE);
        expect(used).toEqual({ ...joinToken('tok-1'), usedAt: T0 + MINUTE });
        expect(await store.listJoinTokens()).toEqual([used]);
        expect(await store.generation()).toBe(generation + 1);
        expect(recorder.changes).toEqual([{ generation: generation + 1 }]);
      });

      test('each refusal names its reason and the token, never the secret or its hash, and changes nothing', async () => {
        await store.createJoinToken(joinToken('fresh'));
        await store.createJoinToken(joinToken('spent'));
        await store.consumeJoinToken('spent', sha256('secret of spent'), T0 + 1);
        const before = await store.listJoinTokens();
        const generation = await store.generation();
        const recorder = recordChanges(store);
        const cases: [() => Promise<unknown>, JoinTokenRejection, string, string][] = [
          [() => store.consumeJoinToken('ghost', sha256('secret of ghost'), T0 + 2), 'unknown', 'ghost', 'join token "ghost" does not exist'],
          [() => store.consumeJoinToken('fresh', sha256('guessed'), T0 + 2), 'wrong-secret', 'fresh', 'join token "fresh" does not match its secret'],
          [() => store.consumeJoinToken('spent', sha256('secret of spent'), T0 + 2), 'used', 'spent', 'join token "spent" was already used'],
          [() => store.consumeJoinToken('fresh', sha256('secret of fresh'), T0 + HOUR), 'expired', 'fresh', 'join token "fresh" has expired'],
        ];
        for (const [call, reason, tokenId, message] of cases) {
          const err = await rejection(call());
          expect(err).toBeInstanceOf(JoinTokenRejectedError);
          expect(err).toMatchObject({ code: 'ERR_JOIN_TOKEN_REJECTED', reason, tokenId, message });
          // Nor the hash the agent presented.
          expect(err.message).not.toMatch(/[0-9a-f]{64}/);
        }
        expect(await store.generation()).toBe(generation);
        expect(recorder.changes).toEqual([]);
        expect(await store.listJoinTokens()).toEqual(before);
        // A wrong guess did not use the token up: the right secret still works before expiry.
        expect(await store.consumeJoinToken('fresh', sha256('secret of fresh'), T0 + HOUR - 1)).toMatchObject({ id: 'fresh', usedAt: T0 + HOUR - 1 });
      });

      test('reasons are checked in order: unknown, wrong secret, used, expired', async () => {
        await store.createJoinToken(joinToken('tok'));
        await store.consumeJoinToken('tok', sha256('secret of tok'), T0 + 1);
        // Used and expired: without the secret, nothing about its state is told.
        const reasonAt = async (id: string, secret: string, now: number) => ((await rejection(store.consumeJoinToken(id, sha256(secret), now))) as JoinTokenRejectedError).reason;
        expect(await reasonAt('tok', 'wrong', T0 + DAY)).toBe('wrong-secret');
        expect(await reasonAt('tok', 'secret of tok', T0 + DAY)).toBe('used');
        expect(await reasonAt('other', 'secret of tok', T0 + 2)).toBe('unknown');
        await store.createJoinToken(joinToken('late', { expiresAt: T0 + MINUTE }));
        expect(await reasonAt('late', 'wrong', T0 + DAY)).toBe('wrong-secret');
        expect(await reasonAt('late', 'secret of late', T0 + MINUTE)).toBe('expired');
        expect((await store.listJoinTokens({ cluster: 'prod-eu' })).find((t) => t.id === 'late')).not.toHaveProperty('usedAt');
      });

      test('consumers racing with one token: exactly one wins and the others are told it was used, every round', async () => {
        for (let round = 0; round < 5; round++) {
          const id = `race-${round}`;
          await store.createJoinToken(joinToken(id));
          const generation = await store.generation();
          const results = await Promise.allSettled([0, 1, 2].map((i) => store.consumeJoinToken(id, sha256(`secret of ${id}`), T0 + round * MINUTE + i)));
          const won = results.filter((r): r is PromiseFulfilledResult<JoinTokenRecord> => r.status === 'fulfilled');
          const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(2);
          for (const l of lost) expect(l.reason).toMatchObject({ name: 'JoinTokenRejectedError', reason: 'used', tokenId: id });
          const stored = (await store.listJoinTokens()).find((t) => t.id === id);
          expect(stored).toEqual(won[0]!.value);
          expect(await store.generation()).toBe(generation + 1);
        }
      });

      test('malformed tokens and hashes are refused, before anything changes', async () => {
        const cases: [() => Promise<unknown>, string][] = [
          [() => store.createJoinToken(joinToken('')), 'join token id must be a non-empty string'],
          [() => store.createJoinToken(joinToken('t', { cluster: 'Prod_EU' })), 'join token "t" cluster must be a DNS label (lowercase letters, digits and \'-\', at most 63), got "Prod_EU"'],
          [() => store.createJoinToken(joinToken('t', { secretHash: 'ABC' })), 'join token "t" secretHash must be a SHA-256 in lowercase hex (64 digits)'],
          [() => store.createJoinToken(joinToken('t', { expiresAt: T0 })), 'join token "t" expiresAt must be later than its createdAt'],
          [() => store.createJoinToken(joinToken('t', { createdBy: '' })), 'join token "t" createdBy must be a non-empty string'],
          [() => store.createJoinToken({ ...joinToken('t'), usedAt: T0 } as JoinTokenRecord), 'join token "t" cannot be created already used'],
          [() => store.consumeJoinToken('t', 'not-a-hash', T0), 'join token secret hash must be a SHA-256 in lowercase hex (64 digits)'],
          [() => store.consumeJoinToken('t', sha256('x'), -5), 'now must be a time in epoch milliseconds (a non-negative integer), got -5'],
          [() => store.listJoinTokens({ cluster: '' }), 'cluster filter must be a DNS label (lowercase letters, digits and \'-\', at most 63), got ""'],
        ];
        for (const [call, message] of cases) {
          const err = await rejection(call());
          expect(err).toBeInstanceOf(StoreInputError);
          expect(err).toMatchObject({ code: 'ERR_STORE_INVALID_INPUT', message });
        }
        expect(await store.generation()).toBe(0);
        expect(await store.listJoinTokens()).toEqual([]);
      });
    });

    describe('clusters', () => {
      test('upsertCluster creates; getCluster and listClusters (sorted by name) return what was stored', async () => {
        const prod = await store.upsertCluster(clusterRecord('prod', { labels: { region: 'eu-1', env: 'prod' } }));
        expect(prod).toEqual(clusterRecord('prod'));
        expect(Object.keys(prod.labels)).toEqual(['env', 'region']);
        // Before the agent first connected: empty version, CA and serial are fine.
        const dev = await store.upsertCluster(clusterRecord('dev-1', { labels: {}, kubernetesVersion: '', apiserverCaPem: '', agentCertificateSerial: '', lastSeenAt: 0 }));
        const staging = await store.upsertCluster(clusterRecord('staging'));
        expect(await store.getCluster('prod')).toEqual(prod);
        expect(await store.getCluster('dev-1')).toEqual(dev);
        expect(await store.getCluster('nowhere')).toBeUndefined();
        expect(await store.listClusters()).toEqual([dev, prod, staging]);
      });

      test('upserting an existing cluster replaces every field but keeps registeredAt from the first time', async () => {
        await store.upsertCluster(clusterRecord('prod', { registeredAt: T0 }));
        const next = clusterRecord('prod', {
          labels: { env: 'prod', tier: 'gold' },
          kubernetesVersion: 'v1.35.0',
          apiserverCaPem: 'new CA',
          agentVersion: '0.2.0',
          agentCertificateSerial: 'ff00',
          registeredAt: T0 + DAY,
          lastSeenAt: T0 + DAY,
        });
        const replaced = await store.upsertCluster(next);
        expect(replaced).toEqual({ ...next, registeredAt: T0 });
        expect(await store.getCluster('prod')).toEqual(replaced);
        expect(await store.listClusters()).toEqual([replaced]);
      });

      test('upsertCluster advances the generation and notifies; touchCluster notifies with clusterSeen and does not', async () => {
        const recorder = recordChanges(store);
        await store.upsertCluster(clusterRecord('prod'));
        expect(await store.generation()).toBe(1);
        await store.upsertCluster(clusterRecord('prod', { agentVersion: '0.1.1' }));
        expect(await store.generation()).toBe(2);
        expect(recorder.changes).toEqual([{ generation: 1 }, { generation: 2 }]);

        await store.touchCluster('prod', T0 + MINUTE);
        expect(await store.generation()).toBe(2);
        expect(recorder.changes.slice(2)).toEqual([{ generation: 2, clusterSeen: { name: 'prod', lastSeenAt: T0 + MINUTE } }]);
        expect(await store.getCluster('prod')).toEqual(clusterRecord('prod', { agentVersion: '0.1.1', lastSeenAt: T0 + MINUTE }));
        // A late heartbeat from a replica with a slower clock does not move lastSeenAt back.
        await store.touchCluster('prod', T0 + 30_000);
        expect((await store.getCluster('prod'))!.lastSeenAt).toBe(T0 + MINUTE);
        expect(recorder.changes.slice(3)).toEqual([{ generation: 2, clusterSeen: { name: 'prod', lastSeenAt: T0 + MINUTE } }]);
      });

      test('touching or deleting a cluster that does not exist is not-found, naming it, and changes nothing', async () => {
        await store.upsertCluster(clusterRecord('prod'));
        const recorder = recordChanges(store);
        for (const call of [() => store.touchCluster('ghost', T0 + 1), () => store.deleteCluster('ghost')]) {
          const err = await rejection(call());
          expect(err).toBeInstanceOf(StoreNotFoundError);
          expect(err).toMatchObject({ code: 'ERR_STORE_NOT_FOUND', message: 'cluster "ghost" does not exist' });
        }
        expect(await store.generation()).toBe(1);
        expect(recorder.changes).toEqual([]);
        expect(await store.listClusters()).toEqual([clusterRecord('prod')]);
      });

      test("deleteCluster removes the cluster and its join tokens, and nobody else's, in one change", async () => {
        await store.upsertCluster(clusterRecord('prod'));
        await store.upsertCluster(clusterRecord('staging'));
        await store.createJoinToken(joinToken('prod-1', { cluster: 'prod' }));
        await store.createJoinToken(joinToken('prod-2', { cluster: 'prod', createdAt: T0 + 1 }));
        await store.consumeJoinToken('prod-2', sha256('secret of prod-2'), T0 + 2);
        const stagingToken = await store.createJoinToken(joinToken('staging-1', { cluster: 'staging' }));
        const generation = await store.generation();
        const recorder = recordChanges(store);

        await store.deleteCluster('prod');

        expect(await store.getCluster('prod')).toBeUndefined();
        expect(await store.listClusters()).toEqual([clusterRecord('staging')]);
        expect(await store.listJoinTokens({ cluster: 'prod' })).toEqual([]);
        expect(await store.listJoinTokens()).toEqual([stagingToken]);
        expect(await store.generation()).toBe(generation + 1);
        expect(recorder.changes).toEqual([{ generation: generation + 1 }]);
        // The deleted token cannot be used any more, and the name is free again.
        expect(await rejection(store.consumeJoinToken('prod-1', sha256('secret of prod-1'), T0 + 3))).toMatchObject({ reason: 'unknown' });
        expect(await store.upsertCluster(clusterRecord('prod', { registeredAt: T0 + DAY }))).toMatchObject({ registeredAt: T0 + DAY });
      });

      test('malformed cluster records and names are refused, before anything changes', async () => {
        const cases: [() => Promise<unknown>, string][] = [
          [() => store.upsertCluster(clusterRecord('Prod')), 'cluster name must be a DNS label (lowercase letters, digits and \'-\', at most 63), got "Prod"'],
          [() => store.upsertCluster(clusterRecord('-prod')), 'cluster name must be a DNS label (lowercase letters, digits and \'-\', at most 63), got "-prod"'],
          [() => store.upsertCluster(clusterRecord('a'.repeat(64))), `cluster name must be a DNS label (lowercase letters, digits and '-', at most 63), got "${'a'.repeat(64)}"`],
          [() => store.upsertCluster(clusterRecord('prod', { labels: { env: 1 as never } })), 'cluster "prod" labels "env" must be a string'],
          [() => store.upsertCluster(clusterRecord('prod', { labels: ['x'] as never })), 'cluster "prod" labels must be an object of strings'],
          [() => store.upsertCluster(clusterRecord('prod', { agentCertificateSerial: 'AB:CD' })), 'certificate serial must be lowercase hex without separators, got "AB:CD"'],
          [() => store.upsertCluster(clusterRecord('prod', { lastSeenAt: 1.5 })), 'cluster "prod" lastSeenAt must be a time in epoch milliseconds (a non-negative integer), got 1.5'],
          [() => store.touchCluster('prod', -1), 'lastSeenAt must be a time in epoch milliseconds (a non-negative integer), got -1'],
          [() => store.getCluster('no_such'), 'cluster name must be a DNS label (lowercase letters, digits and \'-\', at most 63), got "no_such"'],
        ];
        for (const [call, message] of cases) {
          const err = await rejection(call());
          expect(err).toBeInstanceOf(StoreInputError);
          expect(err).toMatchObject({ code: 'ERR_STORE_INVALID_INPUT', message });
        }
        expect(await store.generation()).toBe(0);
        expect(await store.listClusters()).toEqual([]);
        // The longest DNS label is fine.
        expect((await store.upsertCluster(clusterRecord('a'.repeat(63)))).name).toHaveLength(63);
      });
    });

    describe('generation and watch', () => {
      test('a fresh store is at generation 0; every committed mutation advances it by one and is reported in order', async () => {
        expect(await store.generation()).toBe(0);
        const recorder = recordChanges(store);
        await store.createUser({ name: 'alice', groups: [], now: T0 });
        await store.createGroup({ name: 'dev', now: T0 });
        await store.setUserGroups('alice', ['dev'], T0 + 1);
        await store.recordCertificate({ serial: '01', user: 'alice', notBefore: T0, notAfter: T0 + HOUR, issuedAt: T0 });
        await store.applyPolicySet({ files: [], appliedAt: T0, appliedBy: 'alice', expectedRevision: 0 });
        await store.createBreakGlass(breakGlassRequest('bg-1'));
        await store.createSession({ id: 's', user: 'alice', now: T0 });
        expect(await store.generation()).toBe(7);
        expect(recorder.changes).toEqual([1, 2, 3, 4, 5, 6, 7].map((generation) => ({ generation })));
      });

      test('a failed mutation neither advances the generation nor reaches watchers', async () => {
        await store.createUser({ name: 'alice', groups: [], now: T0 });
        const recorder = recordChanges(store);
        await rejection(store.createUser({ name: 'alice', groups: [], now: T0 }));
        await rejection(store.deleteGroup('missing', T0));
        await rejection(store.recordCertificate({ serial: '01', user: 'ghost', notBefore: T0, notAfter: T0 + 1, issuedAt: T0 }));
        expect(await store.generation()).toBe(1);
        expect(recorder.changes).toEqual([]);
        await store.createGroup({ name: 'dev', now: T0 });
        expect(recorder.changes).toEqual([{ generation: 2 }]);
      });

      test('a stopped watcher hears nothing more; a watcher that throws neither fails the mutation nor silences others', async () => {
        const stopped = recordChanges(store);
        stopped.stop();
        store.watch(() => {
          throw new Error('listener bug');
        });
        const healthy = recordChanges(store);
        await expect(store.createUser({ name: 'alice', groups: [], now: T0 })).resolves.toMatchObject({ name: 'alice' });
        expect(stopped.changes).toEqual([]);
        expect(healthy.changes).toEqual([{ generation: 1 }]);
      });

      test('a closed store refuses calls as unavailable, and closing twice is harmless', async () => {
        await store.close();
        await store.close();
        for (const call of [() => store.listUsers(), () => store.createUser({ name: 'alice', groups: [], now: T0 }), () => store.loadState(T0)]) {
          const err = await rejection(call());
          expect(err).toBeInstanceOf(StoreUnavailableError);
          expect(err.message).toMatch(/ is closed$/);
        }
      });
    });

    describe('edge drains', () => {
      test("each recorded drain advances the user's revision, or the shared chain's, in one committed change", async () => {
        await store.createUser({ name: 'alice', groups: [], now: T0 });
        await store.createUser({ name: 'bob', groups: [], now: T0 });
        const recorder = recordChanges(store);
        await store.recordDrains({ users: ['alice'], sharedChain: false });
        await store.recordDrains({ users: ['bob', 'alice', 'alice'], sharedChain: true });
        expect((await store.loadState(T0)).edgeDrains).toEqual({ users: { alice: 2, bob: 1 }, sharedChain: 1, userDeletions: 0 });
        expect(recorder.changes).toEqual([{ generation: 3 }, { generation: 4 }]);
      });

      test('a user who is gone is skipped; nothing to drain changes nothing', async () => {
        await store.createUser({ name: 'alice', groups: [], now: T0 });
        const recorder = recordChanges(store);
        await store.recordDrains({ users: [], sharedChain: false });
        expect(recorder.changes).toEqual([]);
        await store.recordDrains({ users: ['ghost'], sharedChain: false });
        expect((await store.loadState(T0)).edgeDrains).toEqual({ users: {}, sharedChain: 0, userDeletions: 0 });
        // Nothing was written: no replica has anything to reload.
        expect(recorder.changes).toEqual([]);
      });

      test("a deleted user's drains go with them and the deletion is counted: a new user of that name starts again", async () => {
        await store.createUser({ name: 'alice', groups: [], now: T0 });
        await store.createUser({ name: 'bob', groups: [], now: T0 });
        await store.recordDrains({ users: ['alice'], sharedChain: true });
        const recorder = recordChanges(store);
        await store.deleteUser('alice');
        expect((await store.loadState(T0)).edgeDrains).toEqual({ users: {}, sharedChain: 1, userDeletions: 1 });
        expect(recorder.changes).toHaveLength(1);
        await store.createUser({ name: 'alice', groups: [], now: T0 });
        expect((await store.loadState(T0)).edgeDrains.users).toEqual({});
        // A user who never lost access is counted too; refusing an unknown user counts nothing.
        await store.deleteUser('bob');
        await expect(store.deleteUser('ghost')).rejects.toBeInstanceOf(StoreNotFoundError);
        expect((await store.loadState(T0)).edgeDrains).toEqual({ users: {}, sharedChain: 1, userDeletions: 2 });
      });

      test('a bad name or flag is refused and changes nothing', async () => {
        await store.createUser({ name: 'alice', groups: [], now: T0 });
        const recorder = recordChanges(store);
        await expect(store.recordDrains({ users: [' alice'], sharedChain: false })).rejects.toBeInstanceOf(StoreInputError);
        await expect(store.recordDrains({ users: ['alice'], sharedChain: 'yes' as unknown as boolean })).rejects.toBeInstanceOf(StoreInputError);
        expect(recorder.changes).toEqual([]);
        expect((await store.loadState(T0)).edgeDrains.users).toEqual({});
      });
    });

    describe('loadState', () => {
      test('returns everything in memory form, filtered by the given time', async () => {
        const now = T0 + 2 * DAY;
        await store.createGroup({ name: 'dev', description: 'Developers', now: T0 });
        const alice = await store.createUser({ name: 'alice', groups: ['dev'], now: T0 });
        await store.createUser({ name: 'bob', groups: [], now: T0 });
        // Revoked and still valid at `now`: listed. Revoked but expired, or never revoked: not.
        await store.recordCertificate({ serial: 'aa', user: 'alice', notBefore: T0, notAfter: now + 1, issuedAt: T0, revokedAt: T0 + 1 });
        await store.recordCertificate({ serial: 'bb', user: 'alice', notBefore: T0, notAfter: now, issuedAt: T0, revokedAt: T0 + 1 });
        await store.recordCertificate({ serial: 'cc', user: 'alice', notBefore: T0, notAfter: now + DAY, issuedAt: T0 });
        await store.recordCertificate({ serial: '0d', user: 'bob', notBefore: T0, notAfter: now + 2 * DAY, issuedAt: T0, revokedAt: T0 + 5 });
        await store.recordCertificate({ serial: 'ee', user: 'bob', notBefore: T0, notAfter: now + 1, issuedAt: T0 });
        await store.recordCertificate({ serial: 'ff', user: 'bob', notBefore: T0, notAfter: now, issuedAt: T0 });
        // Break-glass: pending (any age) and active-not-yet-expired are live.
        const pending = await store.createBreakGlass(breakGlassRequest('pending', { requestedAt: T0 }));
        const live = await store.createBreakGlass(breakGlassRequest('live', { requestedAt: now - MINUTE, state: 'active', activatedAt: now - MINUTE, expiresAt: now + 1 }));
        await store.createBreakGlass(breakGlassRequest('lapsed', { requestedAt: now - HOUR, state: 'active', activatedAt: now - HOUR, expiresAt: now }));
        await store.createBreakGlass(breakGlassRequest('expired', { state: 'expired', activatedAt: T0, expiresAt: T0 + HOUR }));
        await store.createBreakGlass(breakGlassRequest('rejected', { state: 'rejected', endedBy: 'carol', endReason: 'no' }));
        await store.createBreakGlass(breakGlassRequest('cancelled', { state: 'cancelled', endedBy: 'alice', endReason: 'mistake' }));
        // Sessions: open and active within the last 24 h (the boundary included).
        await store.createSession({ id: 'recent', user: 'alice', now: T0 });
        const recent = await store.touchSession('recent', now - MINUTE);
        await store.createSession({ id: 'boundary', user: 'bob', now: T0 });
        const boundary = await store.touchSession('boundary', now - DAY);
        await store.createSession({ id: 'stale', user: 'bob', now: T0 });
        await store.touchSession('stale', now - DAY - 1);
        await store.createSession({ id: 'ended', user: 'alice', now: now - MINUTE });
        await store.endSession('ended', now);
        const policySet = await store.applyPolicySet({ files: [{ fileName: 'p.yaml', text: 'kind: AccessPolicy' }], appliedAt: T0, appliedBy: 'alice', expectedRevision: 0 });
        // Clusters: all of them, sorted by name, heartbeats included; join tokens are not state.
        await store.upsertCluster(clusterRecord('zeta'));
        await store.upsertCluster(clusterRecord('alpha', { labels: {} }));
        await store.upsertCluster(clusterRecord('mid-1', { lastSeenAt: 0 }));
        await store.touchCluster('zeta', now - MINUTE);
        await store.createJoinToken(joinToken('tok', { cluster: 'alpha' }));

        const state = await store.loadState(now);

        expect(state).toEqual({
          generation: await store.generation(),
          users: [alice, await store.getUser('bob')],
          groups: [{ name: 'dev', description: 'Developers', createdAt: T0 }],
          revokedSerials: ['0d', 'aa'],
          // Not revoked and not expired at `now` ('bb' is revoked; an expired one is below).
          liveCertificates: [{ serial: 'cc', user: 'alice', notBefore: T0, notAfter: now + DAY, issuedAt: T0 }, { serial: 'ee', user: 'bob', notBefore: T0, notAfter: now + 1, issuedAt: T0 }],
          policySet,
          breakGlass: [live, pending],
          sessions: [boundary, recent],
          clusters: [clusterRecord('alpha', { labels: {} }), clusterRecord('mid-1', { lastSeenAt: 0 }), clusterRecord('zeta', { lastSeenAt: now - MINUTE })],
          edgeDrains: { users: {}, sharedChain: 0, userDeletions: 0 },
        });
        // The same data seen a day later: the grant and the sessions have lapsed.
        const later = await store.loadState(now + DAY);
        expect(later.breakGlass).toEqual([pending]);
        expect(later.sessions).toEqual([]);
        expect(later.revokedSerials).toEqual(['0d']);
        expect(later.liveCertificates).toEqual([]);
        expect((await store.loadState(now + DAY - 1)).liveCertificates.map((c) => c.serial)).toEqual(['cc']);
      });

      test('on an empty store it is empty, with the initial policy set', async () => {
        expect(await store.loadState(T0)).toEqual({
          generation: 0,
          users: [],
          groups: [],
          revokedSerials: [],
          liveCertificates: [],
          policySet: { revision: 0, files: [], appliedAt: 0, appliedBy: '' },
          breakGlass: [],
          sessions: [],
          clusters: [],
          edgeDrains: { users: {}, sharedChain: 0, userDeletions: 0 },
        });
      });
    });
  });
}
