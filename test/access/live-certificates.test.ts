/**
 * Who holds a live certificate (and so gets a filter chain at the edge): certificates count
 * while unexpired and unrevoked, what is known only grows from the store's records, revocation
 * arrives with the store's state, and the store is asked only about users known to hold none.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LiveCertificates } from '../../control-plane/access-state/live-certificates';
import { AccessState, type EdgeConfirmation } from '../../control-plane/access-state/access-state';
import { SqliteStore } from '../../control-plane/store/sqlite-store';
import type { CertificateRecord, StoreState, UserRecord } from '../../control-plane/store/store';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const HOUR = 3_600_000;
const cert = (user: string, serial: string, notAfter: number, revokedAt?: number): CertificateRecord => ({
  serial,
  user,
  notBefore: NOW - HOUR,
  notAfter,
  issuedAt: NOW - HOUR,
  ...(revokedAt !== undefined ? { revokedAt } : {}),
});
const user = (name: string, extra: Partial<UserRecord> = {}): UserRecord => ({ name, groups: [], disabled: false, createdAt: NOW - 10 * HOUR, updatedAt: NOW, credentialRevision: 0, ...extra });
const state = (users: UserRecord[], revokedSerials: string[] = [], generation = 1): StoreState => ({
  generation,
  users,
  groups: [],
  revokedSerials,
  liveCertificates: [],
  policySet: { revision: 0, files: [], appliedAt: 0, appliedBy: '' },
  breakGlass: [],
  sessions: [],
  clusters: [],
  edgeDrains: { users: {}, sharedChain: 0, userDeletions: 0 },
});
const notRevoked = () => false;

describe('LiveCertificates', () => {
  test('a user holds a certificate until the latest unexpired, unrevoked one expires', () => {
    const live = new LiveCertificates();
    live.add([cert('ann', 'a1', NOW + HOUR), cert('ann', 'a2', NOW + 3 * HOUR), cert('ann', 'a3', NOW + 9 * HOUR, NOW - 1)], NOW);
    expect(live.validUntil('ann', NOW, notRevoked)).toBe(NOW + 3 * HOUR);
    expect(live.validUntil('ann', NOW + 3 * HOUR - 1, notRevoked)).toBe(NOW + 3 * HOUR);
    // Expiry is exclusive, as a certificate's notAfter is the last moment it is valid.
    expect(live.validUntil('ann', NOW + 3 * HOUR, notRevoked)).toBeUndefined();
    expect([...live.users()]).toEqual([]);
  });

  test('expired and revoked records are never added; revocation drops a known one for good', () => {
    const live = new LiveCertificates();
    live.add([cert('ben', 'b1', NOW), cert('ben', 'b2', NOW + HOUR, NOW)], NOW);
    expect(live.validUntil('ben', NOW, notRevoked)).toBeUndefined();
    live.add([cert('ben', 'b3', NOW + HOUR), cert('ben', 'b4', NOW + 2 * HOUR)], NOW);
    expect(live.validUntil('ben', NOW, (s) => s === 'b4')).toBe(NOW + HOUR);
    expect(live.validUntil('ben', NOW, notRevoked)).toBe(NOW + HOUR);
  });

  test('what is known only grows: an older reading of the store does not hide a newer certificate', () => {
    const live = new LiveCertificates();
    live.add([cert('cat', 'c2', NOW + 8 * HOUR)], NOW);
    live.add([cert('cat', 'c1', NOW + HOUR)], NOW);
    expect(live.validUntil('cat', NOW, notRevoked)).toBe(NOW + 8 * HOUR);
    live.forget('cat');
    expect(live.validUntil('cat', NOW, notRevoked)).toBeUndefined();
  });
});

describe('AccessState', () => {
  test("revocations arrive with the store's state; deleted and re-created users lose their certificates", () => {
    const access = new AccessState();
    access.applyStoreState(state([user('ann'), user('ben'), user('cat')]));
    access.noteCertificates([cert('ann', 'a1', NOW + HOUR), cert('ben', 'b1', NOW + HOUR), cert('cat', 'c1', NOW + HOUR)], NOW);
    expect(['ann', 'ben', 'cat'].map((u) => access.certificateNotAfter(u, NOW))).toEqual([NOW + HOUR, NOW + HOUR, NOW + HOUR]);

    // ann's certificate is revoked, ben is deleted, cat is deleted and created again.
    access.applyStoreState(state([user('ann'), user('cat', { createdAt: NOW })], ['a1'], 2));
    expect(access.certificateNotAfter('ann', NOW)).toBeUndefined();
    expect(access.certificateNotAfter('cat', NOW)).toBeUndefined();
    access.applyStoreState(state([user('ann'), user('ben', { createdAt: NOW }), user('cat', { createdAt: NOW })], ['a1'], 3));
    expect(access.certificateNotAfter('ben', NOW)).toBeUndefined();
  });

  test('an issued certificate counts at once; without a control plane there is no edge to wait for', async () => {
    const access = new AccessState();
    access.applyStoreState(state([user('ann')]));
    await expect(access.certificateIssued({ ...cert('ann', 'a9', NOW + HOUR), issuedAt: NOW })).resolves.toBe('no-edge');
    expect(access.certificateNotAfter('ann', NOW)).toBe(NOW + HOUR);
  });

  test('issuance is handed to the hook, which says whether the edge has the chain', async () => {
    const seen: string[] = [];
    const access = new AccessState(undefined, {
      certificateIssued: async (c): Promise<EdgeConfirmation> => {
        seen.push(c.serial);
        return 'confirmed';
      },
    });
    access.applyStoreState(state([user('ann')]));
    await expect(access.certificateIssued({ ...cert('ann', 'a9', NOW + HOUR), issuedAt: NOW })).resolves.toBe('confirmed');
    expect(seen).toEqual(['a9']);
  });
});

describe('certificates from the store\'s state', () => {
  let dir: string;
  let store: SqliteStore;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-live-certs-'));
    store = await SqliteStore.open(path.join(dir, 'kubegate.db'));
    for (const name of ['ann', 'ben', 'cat', 'dan']) await store.createUser({ name, groups: [], now: NOW });
    await store.setUserDisabled('dan', true, NOW);
    await store.recordCertificate(cert('ann', 'a1', NOW + HOUR));
    await store.recordCertificate(cert('ben', 'b1', NOW - 1));
    await store.recordCertificate(cert('dan', 'd1', NOW + HOUR));
  });

  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('live certificates listed by loadState are known at once; expired and revoked ones are not', async () => {
    const access = new AccessState();
    const state = await store.loadState(NOW);
    expect(state.liveCertificates.map((c) => c.serial)).toEqual(['a1', 'd1']);
    access.applyStoreState(state);
    access.noteCertificates(state.liveCertificates, NOW);
    expect(access.certificateNotAfter('ann', NOW)).toBe(NOW + HOUR);
    expect(access.certificateNotAfter('ben', NOW)).toBeUndefined();
    expect(access.certificateNotAfter('cat', NOW)).toBeUndefined();

    await store.revokeUser('ann', NOW, 'test');
    const after = await store.loadState(NOW);
    expect(after.liveCertificates.map((c) => c.serial)).toEqual(['d1']);
    access.applyStoreState(after);
    access.noteCertificates(after.liveCertificates, NOW);
    expect(access.certificateNotAfter('ann', NOW)).toBeUndefined();
  });
});
