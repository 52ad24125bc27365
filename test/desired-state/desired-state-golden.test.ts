/**
 * Golden tests for the desired-state stage, the first of the two pure stages before Envoy
 * (store → desired state → translator): every control-plane/desired-state/testdata/<case>.in.yaml
 * (store state, configuration, moment) is turned into a TranslatorInput and compared with
 * <case>.out.yaml; the result must then translate into a consistent snapshot. Regenerate after
 * an intended change with KUBEGATE_UPDATE_GOLDEN=1 and review the diff like code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { desiredState, type DesiredStateInput } from '../../control-plane/desired-state/desired-state';
import { ShardMemo } from '../../control-plane/desired-state/fallback-revisions';
import { edgeUserShards } from '../../control-plane/translator/input';
import { translate } from '../../control-plane/translator/translate';
import { validateResources } from '../../control-plane/xds/resource-encoding';
import { Snapshot } from '../../control-plane/xds/snapshot';

const TESTDATA = path.join(__dirname, '../../control-plane/desired-state/testdata');
const UPDATE = process.env.KUBEGATE_UPDATE_GOLDEN === '1';
const cases = fs.readdirSync(TESTDATA).filter((f) => f.endsWith('.in.yaml')).map((f) => f.replace(/\.in\.yaml$/, ''));
const input = (name: string) => parse(fs.readFileSync(path.join(TESTDATA, `${name}.in.yaml`), 'utf8')) as DesiredStateInput;
const render = (value: unknown) => stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });

describe('desired-state golden files', () => {
  test('there are golden cases to check', () => {
    expect(cases.length).toBeGreaterThanOrEqual(4);
  });

  test.each(cases)('%s', (name) => {
    const rendered = render(desiredState(input(name)));
    const goldenFile = path.join(TESTDATA, `${name}.out.yaml`);
    if (UPDATE) fs.writeFileSync(goldenFile, rendered);
    expect(fs.existsSync(goldenFile)).toBe(true);
    expect(rendered).toEqual(fs.readFileSync(goldenFile, 'utf8'));
  });

  test.each(cases)('%s: what it gives the translator becomes a valid, consistent snapshot', (name) => {
    const resources = translate(desiredState(input(name)));
    expect(() => validateResources(resources)).not.toThrow();
    expect(() => new Snapshot(resources).consistencyCheck()).not.toThrow();
  });
});

describe('desired state', () => {
  const base = input('users-certificates-and-drains');
  const withStore = (store: Partial<DesiredStateInput['store']>): DesiredStateInput => ({ ...base, store: { ...base.store, ...store } });
  const revisionsOf = (i: DesiredStateInput) => desiredState(i).userFallbackRevisions!;

  test('the same store data and moment give the same result, whatever order the store listed things in', () => {
    const shuffled = withStore({ users: [...base.store.users].reverse(), liveCertificates: [...base.store.liveCertificates].reverse() });
    expect(render(desiredState(shuffled))).toEqual(render(desiredState(base)));
  });

  test('the shard memo saves work and never changes the answer', () => {
    const memo = new ShardMemo();
    expect(render(desiredState(base, { shardMemo: memo }))).toEqual(render(desiredState(base)));
    expect(render(desiredState(base, { shardMemo: memo }))).toEqual(render(desiredState(base)));
  });

  test("a user's revocation, disabling or drain changes their shard's fallback revision and no other", () => {
    const before = revisionsOf(base);
    const alice = base.store.users.find((u) => u.name === 'alice')!;
    const others = base.store.users.filter((u) => u.name !== 'alice');
    const changes: Array<Partial<DesiredStateInput['store']>> = [
      { users: [...others, { ...alice, credentialRevision: 1 }] },
      { users: [...others, { ...alice, disabled: true }] },
      { edgeDrains: { ...base.store.edgeDrains, users: { ...base.store.edgeDrains.users, alice: 2 } } },
    ];
    for (const change of changes) {
      const after = revisionsOf(withStore(change));
      const changed = Object.keys(before).filter((shard) => before[shard] !== after[shard]);
      expect(changed).toHaveLength(1);
    }
  });

  test('a deletion changes every shard’s fallback revision: the deleted user leaves nothing else behind', () => {
    const before = revisionsOf(base);
    const after = revisionsOf(withStore({ users: base.store.users.filter((u) => u.name !== 'bob'), edgeDrains: { ...base.store.edgeDrains, userDeletions: base.store.edgeDrains.userDeletions + 1 } }));
    expect(Object.keys(before)).toHaveLength(edgeUserShards(base.edge));
    for (const shard of Object.keys(before)) expect(after[shard]).not.toEqual(before[shard]);
  });

  test('creating users and issuing their first certificates leaves every fallback revision alone', () => {
    const quiet = withStore({ edgeDrains: { ...base.store.edgeDrains, userDeletions: 0 } });
    const before = revisionsOf(quiet);
    const newcomers = ['nina', 'omar', 'pia', 'quinn', 'rui'].map((name) => ({ name, groups: ['dev'], disabled: false, createdAt: base.now, updatedAt: base.now, credentialRevision: 0 }));
    const certificates = newcomers.map((u, i) => ({ serial: `f${i}`, user: u.name, notBefore: base.now, notAfter: base.now + 3_600_000, issuedAt: base.now }));
    const after = desiredState({ ...quiet, store: { ...quiet.store, users: [...quiet.store.users, ...newcomers], liveCertificates: [...quiet.store.liveCertificates, ...certificates] } });
    expect(after.users!.map((u) => u.name)).toEqual(expect.arrayContaining(newcomers.map((u) => u.name)));
    expect(after.userFallbackRevisions).toEqual(before);
    // Only shards holding a user who lost access have a revision of their own.
    expect(Object.keys(before).length).toBeGreaterThan(0);
    expect(Object.keys(before).length).toBeLessThan(edgeUserShards(quiet.edge));
  });

  test('a group change, a new certificate or another moment leaves the fallback revisions alone', () => {
    const before = revisionsOf(base);
    const regrouped = base.store.users.map((u) => ({ ...u, groups: [...u.groups, 'ops'] }));
    expect(revisionsOf(withStore({ users: regrouped }))).toEqual(before);
    const carolCert = { serial: '07', user: 'carol', notBefore: base.now, notAfter: base.now + 3_600_000, issuedAt: base.now };
    expect(revisionsOf(withStore({ liveCertificates: [...base.store.liveCertificates, carolCert] }))).toEqual(before);
    expect(revisionsOf({ ...base, now: base.now + 60_000 })).toEqual(before);
  });

  test("a user's chain goes when their last certificate ends, at exactly its notAfter", () => {
    const alice = (now: number) => desiredState({ ...base, now }).users!.find((u) => u.name === 'alice');
    expect(alice(1767268800000 - 1)?.certificateNotAfter).toBe(1767268800000);
    expect(alice(1767268800000)).toBeUndefined();
  });
});
