/**
 * A listener with a filter chain per user is validated and encoded one chain at a time, and a
 * snapshot takes the chains its node's previous snapshot encoded (by content digest) instead of
 * encoding them again: a revocation among ten thousand users re-encodes one chain. The output
 * must be the same configuration as encoding the listener whole, and validation as strict.
 */
import { envoyProtos } from '../../control-plane/proto/envoy-protos';
import { silentLogger } from '../../control-plane/log/logger';
import { contentDigest, ContentCopier, digestOfList } from '../../control-plane/xds/content-digest';
import { encodeListener, encodeResource, InvalidResourceError } from '../../control-plane/xds/resource-encoding';
import { LISTENER_TYPE_URL } from '../../control-plane/xds/resource-types';
import { Snapshot } from '../../control-plane/xds/snapshot';
import { SnapshotCache } from '../../control-plane/xds/snapshot-cache';
import { fixtureResources, listener } from './support/fixtures';

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const Listener = () => envoyProtos().lookupType('envoy.config.listener.v3.Listener');
const decode = (value: Buffer) => Listener().toObject(Listener().decode(value), { longs: String, enums: String, bytes: String }) as Mutable;

/** The fixture listener with one chain per user, each sharing one connection manager object. */
function perUserListener(users: string[], revisionOf: (user: string) => string = () => '0'): Mutable {
  const base = listener('edge', 'edge-routes', 8443) as Mutable;
  const template = base.filter_chains[0];
  const hcm = template.filters[0].typed_config;
  base.filter_chains = users.map((user) => ({
    name: `user/${user}`,
    filter_chain_match: { server_names: [`${user}.users.test`] },
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
    transport_socket: template.transport_socket,
    metadata: { filter_metadata: { kubegate: { fields: { revision: { stringValue: revisionOf(user) } } } } },
  }));
  return base;
}

const withListener = (l: object) => ({ ...fixtureResources(), listeners: [l] });

describe('content digests', () => {
  test('equal content has equal digests, whatever the key order or sharing; any change shows', () => {
    const shared = { '@type': 'type.googleapis.com/x', a: 1 };
    const one = { list: [{ x: shared }, { x: shared }], b: 'y' };
    const other = { b: 'y', list: [{ x: { a: 1, '@type': 'type.googleapis.com/x' } }, { x: { '@type': 'type.googleapis.com/x', a: 1 } }] };
    expect(contentDigest(one)).toBe(contentDigest(other));
    expect(contentDigest(one)).toMatch(/^[0-9a-f]{64}$/);
    expect(contentDigest({ ...one, b: 'z' })).not.toBe(contentDigest(one));
    expect(contentDigest({ list: [{ x: { ...shared, a: 2 } }, { x: shared }], b: 'y' })).not.toBe(contentDigest(one));
    expect(contentDigest({ ...one, c: undefined })).toBe(contentDigest(one));
  });

  test('a list of objects digests the same from its objects or from their digests', () => {
    const list = [{ name: 'a' }, { name: 'b', bytes: Buffer.from('hi') }];
    expect(digestOfList(list.map(contentDigest))).toBe(contentDigest(list));
  });

  test('copies are deeply frozen and private; an embedded Any held twice is copied once', () => {
    const shared = { '@type': 'type.googleapis.com/x', deep: { value: 1 } };
    const input = { a: shared, b: [shared] };
    const { copy } = new ContentCopier().copy(input) as { copy: Mutable };
    expect(copy).toEqual(input);
    expect(copy).not.toBe(input);
    expect(Object.isFrozen(copy.a.deep)).toBe(true);
    expect(copy.a).toBe(copy.b[0]);
    shared.deep.value = 2;
    expect(copy.a.deep.value).toBe(1);
  });
});

test('adopted values are frozen where they are, not copied, and digest the same', () => {
  const input = { list: [{ a: { b: 1 } }], other: { bytes: Buffer.from('x') } };
  const adopted = new ContentCopier(true).copy(input) as { copy: typeof input; digest: string };
  const copied = new ContentCopier().copy({ list: [{ a: { b: 1 } }], other: { bytes: Buffer.from('x') } });
  expect(adopted.copy.list).toBe(input.list);
  expect(Object.isFrozen(input.list[0]!.a)).toBe(true);
  // Bytes cannot be frozen: the objects on the way to them are copies, with a private copy of the bytes.
  expect(adopted.copy.other.bytes).not.toBe(input.other.bytes);
  expect(adopted.digest).toBe(copied.digest);
});

describe('encoding a listener chain by chain', () => {
  test('decodes to the same configuration as encoding it whole', () => {
    const l = perUserListener(['ann', 'ben', 'cat']);
    const used = new Map<string, Buffer>();
    const byChain = encodeListener(l, undefined, used);
    expect(decode(byChain.value)).toEqual(decode(encodeResource(LISTENER_TYPE_URL, l).value));
    expect(used.size).toBe(3);
  });

  test('a chain found by its digest is taken as it was encoded, not encoded again', () => {
    const l = perUserListener(['ann', 'ben']);
    const annDigest = contentDigest(l.filter_chains[0]);
    // zed's encoded chain filed under ann's digest: if it shows up, it was taken, not encoded.
    const zed = new Map<string, Buffer>();
    encodeListener(perUserListener(['zed']), undefined, zed);
    const zedChain = [...zed.values()][0]!;
    const used = new Map<string, Buffer>();
    const decoded = decode(encodeListener(l, new Map([[annDigest, zedChain]]), used).value);
    expect(used.get(annDigest)).toBe(zedChain);
    expect(decoded.filter_chains.map((c: Mutable) => c.name)).toEqual(['user/zed', 'user/ben']);
  });

  test('a chain that does not match the protos is refused with the listener name and its path', () => {
    const l = perUserListener(['ann', 'ben']);
    l.filter_chains[1] = { ...l.filter_chains[1], filter_chain_match: { server_namez: ['x'] } };
    expect(() => encodeListener(l, undefined, new Map())).toThrow(InvalidResourceError);
    expect(() => encodeListener(l, undefined, new Map())).toThrow(/LDS resource "edge": \$\.filter_chains\[1\]\.filter_chain_match\.server_namez: unknown field/);
  });

  test('the listener without its chains is validated as strictly', () => {
    const l = perUserListener(['ann']);
    l.per_connection_buffer_limit_bytes = 5;
    expect(() => encodeListener(l, undefined, new Map())).toThrow(/\$\.per_connection_buffer_limit_bytes: expected an object/);
  });
});

describe('snapshots of the same node', () => {
  test('the next snapshot re-encodes only the chains that changed', () => {
    const users = ['ann', 'ben', 'cat'];
    const cache = new SnapshotCache(silentLogger);
    const first = new Snapshot(withListener(perUserListener(users)));
    cache.setSnapshot('edge-1', first);
    const second = new Snapshot(withListener(perUserListener(users, (u) => (u === 'ben' ? '1' : '0'))));
    cache.setSnapshot('edge-1', second);
    expect(second.version(LISTENER_TYPE_URL)).not.toBe(first.version(LISTENER_TYPE_URL));
    const chainsOf = (s: Snapshot) => (s as unknown as { filterChains: Map<string, Buffer> }).filterChains;
    const reused = [...chainsOf(second).values()].filter((b) => [...chainsOf(first).values()].includes(b));
    expect(reused).toHaveLength(2);
    expect(decode(second.encodedResources(LISTENER_TYPE_URL)[0]!.value)).toEqual(decode(encodeResource(LISTENER_TYPE_URL, perUserListener(users, (u) => (u === 'ben' ? '1' : '0'))).value));
  });
});
