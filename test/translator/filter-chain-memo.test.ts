/**
 * The memo that carries unchanged users' filter chains from one translation to the next
 * (translator/filter-chain-memo.ts) and the digest memo that lets a snapshot skip them
 * (xds/content-digest.ts): neither may change what is published, only what it costs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { translate } from '../../control-plane/translator/translate';
import { FilterChainMemo } from '../../control-plane/translator/filter-chain-memo';
import { TranslatorInputError } from '../../control-plane/translator/validate-input';
import type { EdgeUser, TranslatorInput } from '../../control-plane/translator/input';
import { userFilterChainName } from '../../control-plane/translator/names';
import { DigestMemo } from '../../control-plane/xds/content-digest';
import { Snapshot } from '../../control-plane/xds/snapshot';
import { LISTENER_TYPE_URL } from '../../control-plane/xds/resource-types';

const base = parse(fs.readFileSync(path.join(__dirname, '../../control-plane/translator/testdata/one-cluster.in.yaml'), 'utf8')) as TranslatorInput;
const NOW = 1_767_225_600_000;
const live = (name: string, revision = '0.0'): EdgeUser => ({ name, revision, certificateNotAfter: NOW + 3_600_000 });
const team = Array.from({ length: 40 }, (_, i) => live(`user-${i}@example.com`));

type Chain = { name: string };
type Listener = { filter_chains: Chain[] };

function input(users: readonly EdgeUser[], edge: Partial<TranslatorInput['edge']> = {}): TranslatorInput {
  return { ...base, now: NOW, users: [...users], edge: { ...base.edge, userShards: 4, ...edge } };
}

/** Every user chain of a translation, by name. */
function userChains(listeners: readonly object[]): Map<string, Chain> {
  return new Map((listeners as Listener[]).flatMap((l) => l.filter_chains ?? []).filter((c) => c.name.startsWith('user/')).map((c) => [c.name, c]));
}

/** The same inputs in a row, as a control plane would publish them. */
const steps: Array<[string, TranslatorInput]> = [
  ['everyone', input(team)],
  ['one revoked', input(team.filter((u) => u.name !== 'user-3@example.com'))],
  ['one lost access (new revision)', input(team.map((u) => (u.name === 'user-5@example.com' ? live(u.name, '1.0') : u)).filter((u) => u.name !== 'user-3@example.com'))],
  ['one back', input(team.map((u) => (u.name === 'user-5@example.com' ? live(u.name, '1.0') : u)))],
  ['a connection-manager setting changed', input(team, { streamIdleTimeoutSeconds: 600 })],
  ['the server-name suffix changed', input(team, { streamIdleTimeoutSeconds: 600, userServerNameSuffix: 'u.example.test' })],
];

test('translating with the memo gives the same output as without it, step after step', () => {
  const memo = new FilterChainMemo();
  for (const [, step] of steps) {
    // A snapshot adopts (freezes) what it is given, as the control plane's does: the memo must
    // cope with handing back frozen objects.
    const withMemo = translate(step, { memo });
    expect(withMemo).toEqual(translate(step));
    new Snapshot(withMemo, { adopt: true });
  }
});

test('an unchanged user gets the same chain object back; a changed or re-added one a new chain', () => {
  const memo = new FilterChainMemo();
  const chainsOf = (step: TranslatorInput) => userChains(translate(step, { memo }).listeners);
  const first = chainsOf(steps[0]![1]);
  const second = chainsOf(steps[1]![1]);
  const name = (user: string) => userFilterChainName(user);
  expect(second.get(name('user-7@example.com'))).toBe(first.get(name('user-7@example.com')));
  expect(second.has(name('user-3@example.com'))).toBe(false);
  const third = chainsOf(steps[2]![1]);
  expect(third.get(name('user-5@example.com'))).not.toBe(second.get(name('user-5@example.com')));
  expect(third.get(name('user-7@example.com'))).toBe(first.get(name('user-7@example.com')));
  // Forgotten once it was not used: user-3 comes back with a chain built anew.
  const fourth = chainsOf(steps[3]![1]);
  expect(fourth.get(name('user-3@example.com'))).not.toBe(first.get(name('user-3@example.com')));
  // A change to what every chain embeds rebuilds them all.
  const fifth = chainsOf(steps[4]![1]);
  expect(fifth.get(name('user-7@example.com'))).not.toBe(fourth.get(name('user-7@example.com')));
});

test('input refused by validation leaves the memo as it was', () => {
  const memo = new FilterChainMemo();
  translate(steps[0]![1], { memo });
  const bad = { ...steps[4]![1], users: [...steps[4]![1].users!, { name: '', revision: '0', certificateNotAfter: NOW + 1 }] };
  expect(() => translate(bad, { memo })).toThrow(TranslatorInputError);
  for (const [, step] of [steps[4]!, steps[0]!]) expect(translate(step, { memo })).toEqual(translate(step));
});

test('a translation that stopped half-way hands none of its chains to a later one', () => {
  const memo = new FilterChainMemo();
  const hcm = (timeout: number) => ({ stream_idle_timeout: { seconds: timeout } });
  memo.connectionManager(hcm(1));
  memo.chain('ann', () => ({ ann: 'around timeout 1' }));
  memo.finish();
  // The next translation has another connection manager, builds bob's chain around it and
  // throws before finish().
  memo.connectionManager(hcm(2));
  memo.chain('bob', () => ({ bob: 'around timeout 2, never finished' }));
  // The one after goes back to the first connection manager and has no bob. (The memo keeps
  // one connection manager's chains: ann's is built again.)
  memo.connectionManager(hcm(1));
  expect(memo.chain('ann', () => ({ ann: 'rebuilt around timeout 1' }))).toEqual({ ann: 'rebuilt around timeout 1' });
  memo.finish();
  // bob comes back: his chain is built around the connection manager in use, not taken from
  // the unfinished translation.
  memo.connectionManager(hcm(1));
  expect(memo.chain('bob', () => ({ bob: 'around timeout 1' }))).toEqual({ bob: 'around timeout 1' });
});

test('snapshots with the digest memo have the versions of snapshots without it', () => {
  const memo = new FilterChainMemo();
  const digests = new DigestMemo();
  let previous: Snapshot | undefined;
  for (const [label, step] of steps) {
    const remembered = new Snapshot(translate(step, { memo }), { adopt: true, memo: digests });
    remembered.reuseEncodingsFrom(previous);
    remembered.consistencyCheck();
    remembered.validate();
    const plain = new Snapshot(translate(step));
    expect({ label, versions: remembered.versionsByType() }).toEqual({ label, versions: plain.versionsByType() });
    expect(Object.fromEntries(remembered.resourceVersions(LISTENER_TYPE_URL))).toEqual(Object.fromEntries(plain.resourceVersions(LISTENER_TYPE_URL)));
    // Same bytes for Envoy too.
    expect(remembered.encodedResources(LISTENER_TYPE_URL).map((r) => r.value.toString('base64'))).toEqual(plain.encodedResources(LISTENER_TYPE_URL).map((r) => r.value.toString('base64')));
    previous = remembered;
  }
});
