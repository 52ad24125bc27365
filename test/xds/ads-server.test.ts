/**
 * Protocol tests for the state-of-the-world ADS server: a real grpc-js client over mTLS plays
 * Envoy by hand against the real server. Where a test needs to show that something was NOT
 * sent, it uses a barrier: the server handles a stream's requests in order and answers
 * synchronously, so after an ignored request a request that must be answered is sent, and the
 * very next response has to be that answer.
 */
import * as grpc from '@grpc/grpc-js';
import { Snapshot, InconsistentSnapshotError } from '../../control-plane/xds/snapshot';
import {
  CLUSTER_TYPE_URL,
  ENDPOINT_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_TYPE_URL,
  SECRET_TYPE_URL,
} from '../../control-plane/xds/resource-types';
import { AdsTestClient, decodeResources, resourceNames, type DiscoveryResponse } from './support/ads-test-client';
import { startAdsHarness, waitFor, type AdsHarness } from './support/ads-harness';
import { CLUSTERS, fixtureResources, listener } from './support/fixtures';
import { createTestPki, type TestPki } from './support/test-pki';

const NODE = 'edge-1';
let pki: TestPki;
let h: AdsHarness;

beforeAll(() => {
  pki = createTestPki();
});

beforeEach(async () => {
  h = await startAdsHarness(pki);
});

afterEach(async () => {
  await h.stop();
});

function publish(options: Parameters<typeof fixtureResources>[0] = {}, node = NODE): Snapshot {
  const snapshot = new Snapshot(fixtureResources(options));
  h.cache.setSnapshot(node, snapshot);
  return snapshot;
}

/** Opens a watch of the given type and takes its first answer. */
async function subscribe(client: AdsTestClient, typeUrl: string, names?: string[]): Promise<DiscoveryResponse> {
  client.request(typeUrl, { names });
  return client.nextOf(typeUrl);
}

/** Barrier: a first request for a type not yet used on this stream must be the next response. */
async function expectNothingBefore(client: AdsTestClient, typeUrl: string, names?: string[]): Promise<DiscoveryResponse> {
  client.request(typeUrl, { names });
  const next = await client.next();
  expect(next.type_url).toBe(typeUrl);
  return next;
}

const typeStatus = (typeUrl: string, node = NODE) => h.cache.status().nodes[node]?.types[typeUrl];

describe('responses', () => {
  test('carry the type version, the type URL, a fresh nonce and the resources; an ACK is recorded', async () => {
    const snapshot = publish();
    const client = h.connect(NODE);
    const cds = await subscribe(client, CLUSTER_TYPE_URL);
    expect(cds.version_info).toBe(snapshot.version(CLUSTER_TYPE_URL));
    expect(cds.type_url).toBe(CLUSTER_TYPE_URL);
    expect(cds.nonce).not.toBe('');
    expect(resourceNames(cds)).toEqual([...CLUSTERS]);
    expect(cds.resources!.every((r) => r.type_url === CLUSTER_TYPE_URL)).toBe(true);
    // The encoded Any decodes back to what was published.
    expect(decodeResources(cds)[0]).toMatchObject({ name: CLUSTERS[0], type: 'EDS', connect_timeout: { seconds: '5' } });

    const lds = await subscribe(client, LISTENER_TYPE_URL);
    expect(lds.version_info).toBe(snapshot.version(LISTENER_TYPE_URL));
    expect(lds.nonce).not.toBe(cds.nonce);

    client.ack(cds);
    client.ack(lds);
    await expectNothingBefore(client, SECRET_TYPE_URL, ['user-ca']);
    expect(typeStatus(CLUSTER_TYPE_URL)).toMatchObject({ sentVersion: cds.version_info, ackedVersion: cds.version_info });
    expect(typeStatus(LISTENER_TYPE_URL)).toMatchObject({ ackedVersion: lds.version_info });
    expect(await h.cache.metricsText()).toMatch(/^kubegate_xds_acks_total\{type="CDS"\} 1$/m);
  });

  test('a request made before the node has a snapshot is answered when the snapshot arrives', async () => {
    const client = h.connect(NODE);
    client.request(LISTENER_TYPE_URL);
    await waitFor(() => h.cache.status().nodes[NODE]?.connectedStreams === 1);
    expect(client.pending()).toHaveLength(0);
    const snapshot = publish();
    const lds = await client.nextOf(LISTENER_TYPE_URL);
    expect(lds.version_info).toBe(snapshot.version(LISTENER_TYPE_URL));
  });

  test('an unknown type URL is ignored and the stream carries on', async () => {
    publish();
    const client = h.connect(NODE);
    client.request('type.googleapis.com/envoy.service.runtime.v3.Runtime');
    const lds = await expectNothingBefore(client, LISTENER_TYPE_URL);
    expect(resourceNames(lds)).toEqual(['edge']);
    expect(h.logs.some((l) => l.level === 'warn' && String(l.type_url).endsWith('Runtime'))).toBe(true);
  });
});

describe('subscriptions', () => {
  test('LDS and CDS are wildcard: no names, or "*", means every resource', async () => {
    const resources = fixtureResources();
    h.cache.setSnapshot(NODE, new Snapshot({ ...resources, listeners: [...resources.listeners, listener('admin', 'edge-routes', 9443)] }));
    const first = h.connect(NODE);
    expect(resourceNames(await subscribe(first, LISTENER_TYPE_URL))).toEqual(['admin', 'edge']);
    expect(resourceNames(await subscribe(first, CLUSTER_TYPE_URL, ['*']))).toEqual([...CLUSTERS]);
  });

  test('RDS, EDS and SDS send only the requested names that exist', async () => {
    publish();
    const client = h.connect(NODE);
    const eds = await subscribe(client, ENDPOINT_TYPE_URL, [CLUSTERS[1], 'no-such-cluster']);
    expect(resourceNames(eds)).toEqual([CLUSTERS[1]]);
    const rds = await subscribe(client, ROUTE_TYPE_URL, ['edge-routes']);
    expect(resourceNames(rds)).toEqual(['edge-routes']);
    const sds = await subscribe(client, SECRET_TYPE_URL, ['user-ca', 'edge-cert']);
    expect(resourceNames(sds)).toEqual(['edge-cert', 'user-ca']);
  });

  test('a change of subscribed names is answered even though the version is unchanged', async () => {
    const snapshot = publish();
    const client = h.connect(NODE);
    const first = await subscribe(client, ENDPOINT_TYPE_URL, [CLUSTERS[0]]);
    // The ACK keeps the same names: nothing new to say.
    client.ack(first, [CLUSTERS[0]]);
    await expectNothingBefore(client, ROUTE_TYPE_URL, ['edge-routes']);
    // Envoy now also wants the second cluster's endpoints (same nonce: no new response yet).
    client.request(ENDPOINT_TYPE_URL, { ackOf: first, names: [CLUSTERS[0], CLUSTERS[1]] });
    const second = await client.nextOf(ENDPOINT_TYPE_URL);
    expect(second.version_info).toBe(snapshot.version(ENDPOINT_TYPE_URL));
    expect(second.version_info).toBe(first.version_info);
    expect(second.nonce).not.toBe(first.nonce);
    expect(resourceNames(second)).toEqual([...CLUSTERS]);
    // Dropping a name is a change too.
    client.ack(second, [CLUSTERS[1]]);
    const third = await client.nextOf(ENDPOINT_TYPE_URL);
    expect(resourceNames(third)).toEqual([CLUSTERS[1]]);
  });
});

describe('snapshot updates', () => {
  async function subscribeAllAndAck(client: AdsTestClient): Promise<void> {
    const subscriptions: Array<[string, string[] | undefined]> = [
      [CLUSTER_TYPE_URL, undefined],
      [ENDPOINT_TYPE_URL, [...CLUSTERS]],
      [LISTENER_TYPE_URL, undefined],
      [ROUTE_TYPE_URL, ['edge-routes']],
      [SECRET_TYPE_URL, ['edge-cert', 'user-ca']],
    ];
    for (const [typeUrl, names] of subscriptions) client.ack(await subscribe(client, typeUrl, names), names);
  }

  test('a new snapshot is pushed to waiting streams for the changed types only', async () => {
    const v1 = publish();
    const client = h.connect(NODE);
    await subscribeAllAndAck(client);

    // Same content again: versions are content hashes, so nothing is sent.
    publish();
    // Only clusters change.
    const v2 = publish({ connectTimeoutSeconds: 7 });
    expect(v2.version(CLUSTER_TYPE_URL)).not.toBe(v1.version(CLUSTER_TYPE_URL));
    expect(v2.version(LISTENER_TYPE_URL)).toBe(v1.version(LISTENER_TYPE_URL));
    const cds = await client.next();
    expect(cds.type_url).toBe(CLUSTER_TYPE_URL);
    expect(cds.version_info).toBe(v2.version(CLUSTER_TYPE_URL));
    client.ack(cds);

    // Then only listeners: had any unchanged type been re-sent, it would arrive before this.
    const v3 = publish({ connectTimeoutSeconds: 7, listenerPort: 9443 });
    const lds = await client.next();
    expect(lds.type_url).toBe(LISTENER_TYPE_URL);
    expect(lds.version_info).toBe(v3.version(LISTENER_TYPE_URL));
    expect(decodeResources(lds)[0]).toMatchObject({ address: { socket_address: { port_value: 9443 } } });

    // Several types at once arrive in push order: CDS, EDS, LDS, RDS, SDS.
    client.ack(lds);
    await waitFor(() => typeStatus(LISTENER_TYPE_URL)?.ackedVersion === lds.version_info);
    publish({ connectTimeoutSeconds: 8, listenerPort: 10443, apiserverPort: 7443, routeTag: 'v2', caTag: 'ca-2' });
    const order = [];
    for (let i = 0; i < 5; i++) order.push((await client.next()).type_url);
    expect(order).toEqual([CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL, SECRET_TYPE_URL]);
  });

  test('a change is held until Envoy answers the previous response of that type, then sent at once', async () => {
    publish();
    const client = h.connect(NODE);
    const first = await subscribe(client, CLUSTER_TYPE_URL);
    const v2 = publish({ connectTimeoutSeconds: 9 });
    // The CDS response is not answered yet, so no request is open for CDS.
    await expectNothingBefore(client, LISTENER_TYPE_URL);
    client.ack(first);
    const second = await client.nextOf(CLUSTER_TYPE_URL);
    expect(second.version_info).toBe(v2.version(CLUSTER_TYPE_URL));
  });

  test('a snapshot refused by the consistency check reaches no stream and leaves the previous one', async () => {
    const good = publish();
    const client = h.connect(NODE);
    client.ack(await subscribe(client, LISTENER_TYPE_URL));
    const resources = fixtureResources();
    const broken = new Snapshot({ ...resources, listeners: [listener('edge', 'missing-routes', 9999)] });
    expect(() => h.cache.setSnapshot(NODE, broken)).toThrow(InconsistentSnapshotError);
    expect(h.cache.getSnapshot(NODE)).toBe(good);
    await expectNothingBefore(client, CLUSTER_TYPE_URL);
    expect(await h.cache.metricsText()).toMatch(/^kubegate_xds_snapshots_refused_total 1$/m);
  });
});

describe('nonces', () => {
  test('a request whose nonce is not the latest one sent for its type is ignored', async () => {
    publish();
    const client = h.connect(NODE);
    const first = await subscribe(client, CLUSTER_TYPE_URL);
    // An unknown nonce: neither an ACK nor a NACK, and not answered.
    client.request(CLUSTER_TYPE_URL, { nonce: 'not-a-nonce-we-sent', version: first.version_info });
    client.request(CLUSTER_TYPE_URL, { nonce: 'not-a-nonce-we-sent', error: 'would be a NACK' });
    // An empty nonce after a response was sent is stale too.
    client.request(CLUSTER_TYPE_URL, {});
    await expectNothingBefore(client, LISTENER_TYPE_URL);
    expect(typeStatus(CLUSTER_TYPE_URL)?.ackedVersion).toBeUndefined();
    expect(typeStatus(CLUSTER_TYPE_URL)?.lastNack).toBeUndefined();

    // An older nonce, once a newer response was sent, is stale as well.
    client.ack(first);
    const v2 = publish({ connectTimeoutSeconds: 11 });
    const second = await client.nextOf(CLUSTER_TYPE_URL);
    expect(second.version_info).toBe(v2.version(CLUSTER_TYPE_URL));
    client.request(CLUSTER_TYPE_URL, { ackOf: first });
    await expectNothingBefore(client, SECRET_TYPE_URL, ['user-ca']);
    expect(typeStatus(CLUSTER_TYPE_URL)?.ackedVersion).toBe(first.version_info);
    expect(h.logs.filter((l) => l.msg === 'stale request ignored')).toHaveLength(4);

    // And the real ACK is recorded.
    client.ack(second);
    await waitFor(() => typeStatus(CLUSTER_TYPE_URL)?.ackedVersion === second.version_info);
  });
});

describe('NACKs', () => {
  test('are logged, counted and recorded, and the rejected version is never sent again', async () => {
    const v1 = publish();
    const client = h.connect(NODE);
    const accepted = await subscribe(client, CLUSTER_TYPE_URL);
    client.ack(accepted);
    const v2 = publish({ connectTimeoutSeconds: 0 });
    const rejected = await client.nextOf(CLUSTER_TYPE_URL);
    expect(rejected.version_info).toBe(v2.version(CLUSTER_TYPE_URL));
    client.nack(rejected, 'cluster kube-apiserver/alpha: connect_timeout must be positive', accepted.version_info);

    // Held: the NACK itself is not answered with the rejected version again.
    await expectNothingBefore(client, LISTENER_TYPE_URL);
    const status = typeStatus(CLUSTER_TYPE_URL)!;
    expect(status.lastNack).toMatchObject({
      version: v2.version(CLUSTER_TYPE_URL),
      nonce: rejected.nonce,
      message: 'cluster kube-apiserver/alpha: connect_timeout must be positive',
    });
    expect(Date.parse(status.lastNack!.time)).not.toBeNaN();
    expect(status.ackedVersion).toBe(v1.version(CLUSTER_TYPE_URL));
    expect(status.rejectedVersions).toEqual([v2.version(CLUSTER_TYPE_URL)]);
    expect(await h.cache.metricsText()).toMatch(/^kubegate_xds_nacks_total\{type="CDS"\} 1$/m);
    const warning = h.logs.find((l) => l.level === 'warn' && /NACK/.test(l.msg));
    expect(warning).toMatchObject({
      node: NODE,
      type: 'CDS',
      version: v2.version(CLUSTER_TYPE_URL),
      nonce: rejected.nonce,
      error: 'cluster kube-apiserver/alpha: connect_timeout must be positive',
    });

    // Publishing the same (rejected) content again, or re-requesting, still sends nothing.
    publish({ connectTimeoutSeconds: 0 });
    client.request(CLUSTER_TYPE_URL, { nonce: rejected.nonce, version: accepted.version_info });
    await expectNothingBefore(client, SECRET_TYPE_URL, ['edge-cert']);
    // That follow-up request (same nonce, no error) is not mistaken for an ACK.
    expect(typeStatus(CLUSTER_TYPE_URL)?.ackedVersion).toBe(v1.version(CLUSTER_TYPE_URL));

    // A different version is sent as soon as it exists.
    const v3 = publish({ connectTimeoutSeconds: 3 });
    const fixed = await client.nextOf(CLUSTER_TYPE_URL);
    expect(fixed.version_info).toBe(v3.version(CLUSTER_TYPE_URL));
    client.ack(fixed);
    await waitFor(() => typeStatus(CLUSTER_TYPE_URL)?.ackedVersion === v3.version(CLUSTER_TYPE_URL));
    expect(await h.cache.metricsText()).toMatch(/^kubegate_xds_nacks_total\{type="CDS"\} 1$/m);
  });

  test('going back to the last accepted configuration after a NACK is sent', async () => {
    const v1 = publish();
    const client = h.connect(NODE);
    const accepted = await subscribe(client, CLUSTER_TYPE_URL);
    client.ack(accepted);
    publish({ connectTimeoutSeconds: 0 });
    client.nack(await client.nextOf(CLUSTER_TYPE_URL), 'bad', accepted.version_info);
    publish();
    const back = await client.nextOf(CLUSTER_TYPE_URL);
    expect(back.version_info).toBe(v1.version(CLUSTER_TYPE_URL));
  });

  test('a reconnecting stream of the same node is not sent the rejected version; other nodes are', async () => {
    publish();
    const first = h.connect(NODE);
    const accepted = await subscribe(first, CLUSTER_TYPE_URL);
    first.ack(accepted);
    const v2 = publish({ connectTimeoutSeconds: 0 });
    first.nack(await first.nextOf(CLUSTER_TYPE_URL), 'rejected', accepted.version_info);
    await waitFor(() => typeStatus(CLUSTER_TYPE_URL)?.lastNack);
    first.close();
    await waitFor(() => h.cache.status().nodes[NODE]?.connectedStreams === 0);

    const again = h.connect(NODE);
    again.request(CLUSTER_TYPE_URL, { version: accepted.version_info });
    await expectNothingBefore(again, LISTENER_TYPE_URL);

    // The rejection belongs to edge-1 only.
    h.cache.setSnapshot('edge-2', new Snapshot(fixtureResources({ connectTimeoutSeconds: 0 })));
    const other = h.connect('edge-2');
    expect((await subscribe(other, CLUSTER_TYPE_URL)).version_info).toBe(v2.version(CLUSTER_TYPE_URL));

    const v3 = publish({ connectTimeoutSeconds: 4 });
    expect((await again.nextOf(CLUSTER_TYPE_URL)).version_info).toBe(v3.version(CLUSTER_TYPE_URL));
  });
});

describe('streams', () => {
  test('a stream whose first request has no node id is refused with INVALID_ARGUMENT', async () => {
    publish();
    const client = h.connect(NODE);
    client.request(LISTENER_TYPE_URL, { noNode: true });
    const ended = await client.ended;
    expect(ended.kind).toBe('error');
    expect(ended.kind === 'error' && ended.error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(ended.kind === 'error' && ended.error.details).toMatch(/node\.id/);
    expect(client.pending()).toHaveLength(0);
    expect(h.cache.status().nodes[NODE]?.connectedStreams).toBe(0);
  });

  test('the node id of the first request is kept; later requests need not repeat it', async () => {
    const snapshot = publish();
    const client = h.connect(NODE);
    client.request(LISTENER_TYPE_URL);
    const lds = await client.nextOf(LISTENER_TYPE_URL);
    client.request(CLUSTER_TYPE_URL, { noNode: true });
    expect((await client.nextOf(CLUSTER_TYPE_URL)).version_info).toBe(snapshot.version(CLUSTER_TYPE_URL));
    expect(lds.version_info).toBe(snapshot.version(LISTENER_TYPE_URL));
  });

  test('status counts open streams and the stream is cleaned up when the client goes', async () => {
    publish();
    const a = h.connect(NODE);
    const b = h.connect(NODE);
    await subscribe(a, LISTENER_TYPE_URL);
    await subscribe(b, LISTENER_TYPE_URL);
    expect(h.cache.status().nodes[NODE]).toMatchObject({ connectedStreams: 2 });
    expect(await h.cache.metricsText()).toMatch(/^kubegate_xds_streams_active 2$/m);
    a.close();
    await waitFor(() => h.cache.status().nodes[NODE]?.connectedStreams === 1);
    expect(h.logs.some((l) => l.msg === 'ADS stream closed' && l.node === NODE)).toBe(true);
    // The closed stream is no longer watching: a new snapshot goes to b only, without errors.
    b.ack((await subscribe(b, CLUSTER_TYPE_URL)));
    publish({ connectTimeoutSeconds: 12 });
    expect((await b.nextOf(CLUSTER_TYPE_URL)).type_url).toBe(CLUSTER_TYPE_URL);
    expect(h.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(await h.cache.metricsText()).toMatch(/^kubegate_xds_streams_total 2$/m);
  });

  test('a closed stream stops watching the cache: a node known only from its stream is forgotten', async () => {
    const client = h.connect('no-such-edge');
    client.request(LISTENER_TYPE_URL);
    await waitFor(() => h.cache.status().nodes['no-such-edge']?.connectedStreams === 1);
    client.close();
    // Forgotten only once no stream is connected and nothing watches the node any more.
    await waitFor(() => !h.cache.status().nodes['no-such-edge']);
    expect(client.pending()).toHaveLength(0);
  });

  test('a node status shows its snapshot and per-type versions', async () => {
    const snapshot = publish();
    const client = h.connect(NODE);
    const lds = await subscribe(client, LISTENER_TYPE_URL);
    client.ack(lds);
    await expectNothingBefore(client, ROUTE_TYPE_URL, ['edge-routes']);
    const node = h.cache.status().nodes[NODE]!;
    expect(node.snapshotVersion).toBe(snapshot.version());
    expect(node.connectedStreams).toBe(1);
    expect(node.types[LISTENER_TYPE_URL]).toEqual({
      type: 'LDS',
      snapshotVersion: snapshot.version(LISTENER_TYPE_URL),
      sentVersion: snapshot.version(LISTENER_TYPE_URL),
      ackedVersion: snapshot.version(LISTENER_TYPE_URL),
      lastNack: undefined,
      rejectedVersions: [],
      rejectedResources: [],
    });
    expect(node.types[ROUTE_TYPE_URL]).toMatchObject({ sentVersion: snapshot.version(ROUTE_TYPE_URL), ackedVersion: undefined });
    expect(node.types[SECRET_TYPE_URL]).toMatchObject({ snapshotVersion: snapshot.version(SECRET_TYPE_URL), sentVersion: undefined });
  });
});
