/**
 * Users split across shards (translator/listener.ts): the public listener picks the shard a
 * user's server name belongs to, the shard holds that user's chain, and a change to one user
 * changes one shard's listener and nothing else, which is the whole point.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { translate } from '../../control-plane/translator/translate';
import { TranslatorInputError } from '../../control-plane/translator/validate-input';
import type { EdgeUser, TranslatorInput } from '../../control-plane/translator/input';
import { EDGE_LISTENER, edgeShardListenerName, userFilterChainName } from '../../control-plane/translator/names';
import { isUserShardCount, userServerName, userShard, userShardPrefixDigits } from '../../control-plane/identity/user-identity';

const base = parse(fs.readFileSync(path.join(__dirname, '../../control-plane/translator/testdata/one-cluster.in.yaml'), 'utf8')) as TranslatorInput;
const NOW = 1_767_225_600_000;
const live = (name: string, revision = '0.0'): EdgeUser => ({ name, revision, certificateNotAfter: NOW + 3_600_000 });
const names = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}@example.com`);

type Listener = {
  name: string;
  filter_chains: Array<{ name: string; metadata?: { filter_metadata: { kubegate: { fields: Record<string, { stringValue: string }> } } } }>;
  filter_chain_matcher?: { matcher_tree: { prefix_match_map: { map: Record<string, { action: { name: string } }> } } };
};

function listeners(input: Partial<TranslatorInput> & { userShards?: number }): Map<string, Listener> {
  const { userShards, ...rest } = input;
  const edge = { ...base.edge, ...(userShards === undefined ? { userShards: undefined } : { userShards }) };
  const out = translate({ ...base, now: NOW, ...rest, edge });
  return new Map((out.listeners as Listener[]).map((l) => [l.name, l]));
}

/** The shard chain the public listener's matcher picks for a server name (longest prefix). */
function routedShard(publicListener: Listener, serverName: string): string | undefined {
  const map = publicListener.filter_chain_matcher!.matcher_tree.prefix_match_map.map;
  const hits = Object.keys(map).filter((prefix) => serverName.startsWith(prefix)).sort((a, b) => b.length - a.length);
  return hits.length ? map[hits[0]!]!.action.name : undefined;
}

describe('the shard of a user', () => {
  test('shard counts are powers of two from 1 to 256', () => {
    for (const n of [1, 2, 4, 8, 16, 32, 64, 128, 256]) expect(isUserShardCount(n)).toBe(true);
    for (const n of [0, -16, 3, 12, 17, 100, 512, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(isUserShardCount(n)).toBe(false);
    expect([1, 2, 16, 32, 256].map(userShardPrefixDigits)).toEqual([0, 1, 1, 2, 2]);
  });

  test('is a pure function of the server name, in range, the same at every call', () => {
    for (const user of names(200)) {
      for (const n of [1, 2, 16, 64, 256]) {
        const shard = userShard(user, n);
        expect(Number.isInteger(shard) && shard >= 0 && shard < n).toBe(true);
        expect(userShard(user, n)).toBe(shard);
      }
      expect(userShard(user, 1)).toBe(0);
      // 16 shards are the first hex digit; 256 the first two.
      const label = userServerName(user).slice(2);
      expect(userShard(user, 16)).toBe(parseInt(label[0]!, 16));
      expect(userShard(user, 256)).toBe(parseInt(label.slice(0, 2), 16));
      // Halving the shard count merges neighbouring shards.
      expect(userShard(user, 8)).toBe(Math.floor(userShard(user, 16) / 2));
    }
  });

  test('spreads users evenly', () => {
    const counts = new Array<number>(16).fill(0);
    for (const user of names(3200)) counts[userShard(user, 16)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(130);
    for (const c of counts) expect(c).toBeLessThan(270);
  });
});

describe('sharded user listeners', () => {
  test('16 shards by default; 1 is the single listener with every chain', () => {
    const users = names(20).map((n) => live(n));
    const sharded = listeners({ users });
    expect([...sharded.keys()]).toEqual([EDGE_LISTENER, ...Array.from({ length: 16 }, (_, k) => edgeShardListenerName(k))]);
    const single = listeners({ users, userShards: 1 });
    expect([...single.keys()]).toEqual([EDGE_LISTENER]);
    expect(single.get(EDGE_LISTENER)!.filter_chains.map((c) => c.name)).toEqual([...users.map((u) => userFilterChainName(u.name)).sort(), 'users-fallback', 'users-shared']);
  });

  test('one shared chain, in shard 0 where connections without a user\'s server name go; its revision changes only it', () => {
    const users = names(40).map((n) => live(n));
    const before = listeners({ users });
    const after = listeners({ users, sharedChainRevision: '1' });
    const holders = [...before.values()].filter((l) => l.filter_chains.some((c) => c.name === 'users-shared')).map((l) => l.name);
    expect(holders).toEqual([edgeShardListenerName(0)]);
    const shared = before.get(edgeShardListenerName(0))!.filter_chains.find((c) => c.name === 'users-shared')!;
    // Any TLS connection that no server name picked; the handshake still needs a user certificate.
    expect(shared).toMatchObject({ filter_chain_match: { transport_protocol: 'tls' } });
    expect(JSON.stringify(shared)).toContain('"require_client_certificate":{"value":true}');
    expect(routedShard(before.get(EDGE_LISTENER)!, '127.0.0.1')).toBeUndefined();
    for (const [name, listener] of before) {
      if (name === edgeShardListenerName(0)) expect(after.get(name)).not.toEqual(listener);
      else expect(after.get(name)).toEqual(listener);
    }
  });

  test.each([2, 4, 16, 64, 256])('with %i shards the public listener sends each user to the shard that holds their chain', (n) => {
    const users = names(300).map((name) => live(name));
    const out = listeners({ users, userShards: n });
    const publicListener = out.get(EDGE_LISTENER)!;
    expect(Object.keys(publicListener.filter_chain_matcher!.matcher_tree.prefix_match_map.map)).toHaveLength(16 ** userShardPrefixDigits(n));
    for (const user of users) {
      const shard = edgeShardListenerName(userShard(user.name, n));
      expect(routedShard(publicListener, userServerName(user.name))).toBe(shard);
      expect(out.get(shard)!.filter_chains.some((c) => c.name === userFilterChainName(user.name))).toBe(true);
    }
    // Every user's chain is in exactly one shard, with a fallback chain in every shard.
    const chains = [...out.values()].filter((l) => l.name !== EDGE_LISTENER).flatMap((l) => l.filter_chains.map((c) => c.name));
    expect(chains.filter((c) => c.startsWith('user/')).sort()).toEqual(users.map((u) => userFilterChainName(u.name)).sort());
    expect(chains.filter((c) => c === 'users-fallback')).toHaveLength(n);
    // Not a user's server name: shard 0.
    expect(routedShard(publicListener, 'kubernetes.default')).toBeUndefined();
  });

  test('the public listener does not depend on the users: changing them never drains everyone', () => {
    const before = listeners({ users: names(50).map((n) => live(n)), userFallbackRevision: '3' });
    const after = listeners({ users: [...names(40).map((n) => live(n, '1.1')), live('newcomer')], userFallbackRevisions: { '5': '9' } });
    const empty = listeners({});
    expect(after.get(EDGE_LISTENER)).toEqual(before.get(EDGE_LISTENER));
    expect(empty.get(EDGE_LISTENER)).toEqual(before.get(EDGE_LISTENER));
  });

  test('a change to one user changes only their shard, and a fallback bump only the shard bumped', () => {
    const users = names(100).map((n) => live(n));
    const before = listeners({ users });
    const victim = users[17]!;
    const shard = edgeShardListenerName(userShard(victim.name, 16));
    const changed = (after: Map<string, Listener>) => [...after.keys()].filter((name) => JSON.stringify(after.get(name)) !== JSON.stringify(before.get(name)));

    expect(changed(listeners({ users: users.map((u) => (u === victim ? { ...u, revision: '0.1' } : u)) }))).toEqual([shard]);
    expect(changed(listeners({ users: users.filter((u) => u !== victim) }))).toEqual([shard]);
    expect(changed(listeners({ users, userFallbackRevisions: { [String(userShard(victim.name, 16))]: '1' } }))).toEqual([shard]);
    // userFallbackRevision is every shard's (the single listener's, with one shard).
    expect(changed(listeners({ users, userFallbackRevision: '1' }))).toHaveLength(16);
  });

  test('per-shard fallback revisions override userFallbackRevision for their shard', () => {
    const out = listeners({ userShards: 4, userFallbackRevision: '2', userFallbackRevisions: { '3': '7' } });
    const revisionOf = (listener: string) => out.get(listener)!.filter_chains.find((c) => c.name === 'users-fallback')!.metadata!.filter_metadata.kubegate.fields.revision!.stringValue;
    expect([0, 1, 2, 3].map((k) => revisionOf(edgeShardListenerName(k)))).toEqual(['2', '2', '2', '7']);
    const single = listeners({ userShards: 1, userFallbackRevision: '2', userFallbackRevisions: { '0': '5' } });
    expect(single.get(EDGE_LISTENER)!.filter_chains.find((c) => c.name === 'users-fallback')!.metadata!.filter_metadata.kubegate.fields.revision!.stringValue).toBe('5');
  });

  test.each([
    [0, /edge.userShards 0 is not a shard count: it must be a power of two from 1 to 256/],
    [12, /edge.userShards 12 is not a shard count/],
    [512, /edge.userShards 512 is not a shard count/],
    [1.5, /edge.userShards 1.5 is not a shard count/],
  ])('rejects userShards %s', (n, message) => {
    expect(() => listeners({ userShards: n })).toThrow(TranslatorInputError);
    expect(() => listeners({ userShards: n })).toThrow(message);
  });

  test.each([
    ['16', 16, /userFallbackRevisions: "16" is not a shard \(0 to 15 with edge.userShards 16\)/],
    ['1', 1, /userFallbackRevisions: "1" is not a shard \(0 to 0/],
    ['x', 16, /userFallbackRevisions: "x" is not a shard/],
    ['01', 16, /userFallbackRevisions: "01" is not a shard/],
  ])('rejects a fallback revision for shard "%s" of %i', (key, n, message) => {
    expect(() => listeners({ userShards: n, userFallbackRevisions: { [key]: '1' } })).toThrow(message);
  });
});
