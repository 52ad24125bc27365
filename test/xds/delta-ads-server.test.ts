/**
 * Protocol tests for delta (incremental) ADS: a real grpc-js client over mTLS plays Envoy by hand
 * against the real server. "Nothing was sent" is shown with a barrier, as in ads-server.test.ts:
 * the server handles a stream's requests in order and answers synchronously, so after a request
 * that must not be answered, a first request for an unused type is sent, and the very next
 * response has to be that one's answer.
 */
import * as grpc from '@grpc/grpc-js';
import { Snapshot } from '../../control-plane/xds/snapshot';
import { PARTIAL_VERSION_SUFFIX } from '../../control-plane/xds/delta-stream';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL, SECRET_TYPE_URL, type TypeUrl } from '../../control-plane/xds/resource-types';
import type { XdsResources } from '../../control-plane/xds/resources';
import { DeltaTestClient, decodeDelta, sentVersions, type DeltaResponse } from './support/delta-test-client';
import { startAdsHarness, waitFor, type AdsHarness } from './support/ads-harness';
import { CLUSTERS, edsCluster, fixtureResources, listener } from './support/fixtures';
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

/** The fixture with a second listener, so one listener can change while the other does not. */
function resources(options: { readonly edgePort?: number; readonly sparePort?: number; readonly withSpare?: boolean; readonly timeouts?: readonly number[] } = {}): XdsResources {
  const base = fixtureResources();
  return {
    ...base,
    listeners: [listener('edge', 'edge-routes', options.edgePort ?? 8443), ...(options.withSpare === false ? [] : [listener('spare', 'spare-routes', options.sparePort ?? 9443)])],
    clusters: options.timeouts ? CLUSTERS.map((c, i) => edsCluster(c, options.timeouts![i]!)) : base.clusters,
  };
}

function publish(r: XdsResources = resources(), node = NODE): Snapshot {
  const snapshot = new Snapshot(r);
  h.cache.setSnapshot(node, snapshot);
  return snapshot;
}

const versionsOf = (snapshot: Snapshot, typeUrl: TypeUrl) => Object.fromEntries(snapshot.resourceVersions(typeUrl));
const typeStatus = (typeUrl: string, node = NODE) => h.cache.status().nodes[node]?.types[typeUrl];

/** Barrier: the first request of a type unused on this stream must be answered next. */
async function expectNothingBefore(client: DeltaTestClient, typeUrl: TypeUrl, subscribe: string[]): Promise<DeltaResponse> {
  client.request(typeUrl, { subscribe });
  const next = await client.next();
  expect(next.type_url).toBe(typeUrl);
  return next;
}

describe('delta responses', () => {
  test('a wildcard subscription gets every resource with its own version; the ACK is recorded', async () => {
    const snapshot = publish();
    const client = h.connectDelta(NODE);
    client.request(LISTENER_TYPE_URL);
    const lds = await client.nextOf(LISTENER_TYPE_URL);
    expect(lds.system_version_info).toBe(snapshot.version(LISTENER_TYPE_URL));
    expect(sentVersions(lds)).toEqual(versionsOf(snapshot, LISTENER_TYPE_URL));
    expect(lds.removed_resources ?? []).toEqual([]);
    expect(decodeDelta(lds).map((l) => l.name)).toEqual(['edge', 'spare']);
    expect(lds.resources!.every((r) => r.resource.type_url === LISTENER_TYPE_URL)).toBe(true);
    client.ack(lds);
    await waitFor(() => typeStatus(LISTENER_TYPE_URL)?.ackedVersion === snapshot.version(LISTENER_TYPE_URL));
    expect(h.logs.some((l) => l.msg === 'ADS stream opened' && l.protocol === 'delta')).toBe(true);
  });

  test('"*" subscribes to everything as well', async () => {
    const snapshot = publish();
    const client = h.connectDelta(NODE);
    client.request(CLUSTER_TYPE_URL, { subscribe: ['*'] });
    expect(sentVersions(await client.nextOf(CLUSTER_TYPE_URL))).toEqual(versionsOf(snapshot, CLUSTER_TYPE_URL));
  });

  test('a change to one resource sends that resource only', async () => {
    publish();
    const client = h.connectDelta(NODE);
    client.request(LISTENER_TYPE_URL);
    client.ack(await client.nextOf(LISTENER_TYPE_URL));
    const second = publish(resources({ sparePort: 9444 }));
    const update = await client.nextOf(LISTENER_TYPE_URL);
    expect(Object.keys(sentVersions(update))).toEqual(['spare']);
    expect(update.resources![0]!.version).toBe(second.resourceVersions(LISTENER_TYPE_URL).get('spare'));
    expect(decodeDelta(update)[0]).toMatchObject({ name: 'spare', address: { socket_address: { port_value: 9444 } } });
    expect(update.system_version_info).toBe(second.version(LISTENER_TYPE_URL));
  });

  test('a resource gone from the snapshot is named in removed_resources', async () => {
    publish();
    const client = h.connectDelta(NODE);
    client.request(LISTENER_TYPE_URL);
    client.ack(await client.nextOf(LISTENER_TYPE_URL));
    publish(resources({ withSpare: false }));
    const update = await client.nextOf(LISTENER_TYPE_URL);
    expect(update.resources ?? []).toEqual([]);
    expect(update.removed_resources).toEqual(['spare']);
  });

  test('a type whose resources did not change is not sent anything', async () => {
    publish();
    const client = h.connectDelta(NODE);
    client.request(CLUSTER_TYPE_URL);
    client.ack(await client.nextOf(CLUSTER_TYPE_URL));
    client.request(LISTENER_TYPE_URL);
    client.ack(await client.nextOf(LISTENER_TYPE_URL));
    publish(resources({ sparePort: 9444 }));
    // Only LDS changed: the next response is LDS, and after it the barrier's.
    expect((await client.next()).type_url).toBe(LISTENER_TYPE_URL);
    await expectNothingBefore(client, SECRET_TYPE_URL, ['user-ca']);
  });
});

describe('delta subscriptions by name', () => {
  test('RDS sends the subscribed names that exist, and a later subscription sends only the new name', async () => {
    const snapshot = publish();
    const client = h.connectDelta(NODE);
    client.request(ROUTE_TYPE_URL, { subscribe: ['edge-routes', 'no-such-routes'] });
    const first = await client.nextOf(ROUTE_TYPE_URL);
    expect(sentVersions(first)).toEqual({ 'edge-routes': snapshot.resourceVersions(ROUTE_TYPE_URL).get('edge-routes') });
    client.ack(first, { subscribe: ['spare-routes'] });
    const second = await client.nextOf(ROUTE_TYPE_URL);
    expect(Object.keys(sentVersions(second))).toEqual(['spare-routes']);
  });

  test('a name unsubscribed and subscribed again is sent again', async () => {
    publish();
    const client = h.connectDelta(NODE);
    client.request(ENDPOINT_TYPE_URL, { subscribe: [CLUSTERS[0]] });
    const first = await client.nextOf(ENDPOINT_TYPE_URL);
    client.ack(first, { unsubscribe: [CLUSTERS[0]] });
    await expectNothingBefore(client, SECRET_TYPE_URL, ['user-ca']);
    client.request(ENDPOINT_TYPE_URL, { subscribe: [CLUSTERS[0]] });
    expect(Object.keys(sentVersions(await client.nextOf(ENDPOINT_TYPE_URL)))).toEqual([CLUSTERS[0]]);
  });

  test('a subscription change in a request that answers an older response still counts', async () => {
    publish();
    const client = h.connectDelta(NODE);
    client.request(ROUTE_TYPE_URL, { subscribe: ['edge-routes'] });
    const first = await client.nextOf(ROUTE_TYPE_URL);
    client.ack(first);
    // A nonce the server never sent (or sent long ago): not an answer, but the names count.
    client.request(ROUTE_TYPE_URL, { nonce: 'not-the-latest', subscribe: ['spare-routes'] });
    expect(Object.keys(sentVersions(await client.nextOf(ROUTE_TYPE_URL)))).toEqual(['spare-routes']);
  });
});

describe('delta reconnects', () => {
  test('an Envoy that says it has the current resources is sent an empty first response, and later only changes', async () => {
    const snapshot = publish();
    const client = h.connectDelta(NODE);
    client.request(LISTENER_TYPE_URL, { initialVersions: versionsOf(snapshot, LISTENER_TYPE_URL) });
    const first = await client.nextOf(LISTENER_TYPE_URL);
    expect(first.resources ?? []).toEqual([]);
    expect(first.removed_resources ?? []).toEqual([]);
    expect(first.system_version_info).toBe(snapshot.version(LISTENER_TYPE_URL));
    client.ack(first);
    publish(resources({ edgePort: 8444 }));
    expect(Object.keys(sentVersions(await client.nextOf(LISTENER_TYPE_URL)))).toEqual(['edge']);
  });

  test('names subscribed in the first request keep the versions Envoy says it has', async () => {
    const snapshot = publish();
    const client = h.connectDelta(NODE);
    const has = { 'edge-routes': snapshot.resourceVersions(ROUTE_TYPE_URL).get('edge-routes')!, 'spare-routes': 'an-older-version' };
    client.request(ROUTE_TYPE_URL, { subscribe: ['edge-routes', 'spare-routes'], initialVersions: has });
    expect(Object.keys(sentVersions(await client.nextOf(ROUTE_TYPE_URL)))).toEqual(['spare-routes']);
  });

  test('what it has in an older version is sent, and what it has that is gone is removed', async () => {
    const older = new Snapshot(resources({ edgePort: 8000 }));
    const snapshot = publish(resources({ withSpare: false }));
    const client = h.connectDelta(NODE);
    client.request(LISTENER_TYPE_URL, { initialVersions: versionsOf(older, LISTENER_TYPE_URL) });
    const first = await client.nextOf(LISTENER_TYPE_URL);
    expect(sentVersions(first)).toEqual(versionsOf(snapshot, LISTENER_TYPE_URL));
    expect(first.removed_resources).toEqual(['spare']);
  });
});

describe('delta pacing', () => {
  test('one response per type in flight: snapshots published before the ACK become one response with the net change', async () => {
    publish();
    const client = h.connectDelta(NODE);
    client.request(LISTENER_TYPE_URL);
    const first = await client.nextOf(LISTENER_TYPE_URL);
    publish(resources({ sparePort: 9444 }));
    const last = publish(resources({ sparePort: 9445 }));
    await expectNothingBefore(client, SECRET_TYPE_URL, ['user-ca']);
    client.ack(first);
    const update = await client.nextOf(LISTENER_TYPE_URL);
    expect(sentVersions(update)).toEqual({ spare: last.resourceVersions(LISTENER_TYPE_URL).get('spare') });
  });

  test('a snapshot that goes back to what Envoy has sends nothing and counts as accepted', async () => {
    const original = publish();
    const client = h.connectDelta(NODE);
    client.request(LISTENER_TYPE_URL);
    const first = await client.nextOf(LISTENER_TYPE_URL);
    publish(resources({ sparePort: 9444 }));
    publish(resources());
    client.ack(first);
    await expectNothingBefore(client, SECRET_TYPE_URL, ['user-ca']);
    expect(typeStatus(LISTENER_TYPE_URL)?.ackedVersion).toBe(original.version(LISTENER_TYPE_URL));
  });
});

describe('delta NACKs', () => {
  test('a rejected single resource is held back, on this stream and the next, until its content changes', async () => {
    publish();
    const client = h.connectDelta(NODE);
    client.request(LISTENER_TYPE_URL);
    const first = await client.nextOf(LISTENER_TYPE_URL);
    client.ack(first);
    const bad = publish(resources({ sparePort: 1 }));
    const badSpare = bad.resourceVersions(LISTENER_TYPE_URL).get('spare')!;
    const update = await client.nextOf(LISTENER_TYPE_URL);
    client.nack(update, 'port 1 is privileged');
    await waitFor(() => typeStatus(LISTENER_TYPE_URL)?.lastNack);
    expect(typeStatus(LISTENER_TYPE_URL)).toMatchObject({ lastNack: { version: bad.version(LISTENER_TYPE_URL), message: 'port 1 is privileged' }, rejectedResources: [`spare@${badSpare}`] });
    // Another change elsewhere: the edge listener goes, the rejected spare stays held.
    const next = publish(resources({ sparePort: 1, edgePort: 8444 }));
    const withEdge = await client.nextOf(LISTENER_TYPE_URL);
    expect(Object.keys(sentVersions(withEdge))).toEqual(['edge']);
    // Something is held back: this response does not bring Envoy to the snapshot's version.
    expect(withEdge.system_version_info).toBe(next.version(LISTENER_TYPE_URL) + PARTIAL_VERSION_SUFFIX);
    client.ack(withEdge);
    await expectNothingBefore(client, SECRET_TYPE_URL, ['user-ca']);

    // A new stream from the same node, reporting what Envoy really has: still not sent.
    client.close();
    const again = h.connectDelta(NODE);
    again.request(LISTENER_TYPE_URL, { initialVersions: { ...versionsOf(next, LISTENER_TYPE_URL), spare: first.resources!.find((r) => r.name === 'spare')!.version } });
    const reconnect = await again.nextOf(LISTENER_TYPE_URL);
    expect(reconnect.resources ?? []).toEqual([]);
    // Fixed content is sent.
    const fixed = publish(resources({ sparePort: 9446, edgePort: 8444 }));
    again.ack(reconnect);
    const fix = await again.nextOf(LISTENER_TYPE_URL);
    expect(sentVersions(fix)).toEqual({ spare: fixed.resourceVersions(LISTENER_TYPE_URL).get('spare') });
    expect(fix.system_version_info).toBe(fixed.version(LISTENER_TYPE_URL));
  });

  test('a rejected response of several resources is sent again one resource at a time, so only the bad one is held', async () => {
    publish();
    const client = h.connectDelta(NODE);
    client.request(CLUSTER_TYPE_URL);
    client.ack(await client.nextOf(CLUSTER_TYPE_URL));
    // Both clusters change; the second one is the bad one (Envoy refuses a negative timeout).
    const both = publish(resources({ timeouts: [7, -5] }));
    const batch = await client.nextOf(CLUSTER_TYPE_URL);
    expect(Object.keys(sentVersions(batch)).sort()).toEqual([...CLUSTERS].sort());
    client.nack(batch, 'cluster beta: connect_timeout must be positive');

    const seen: string[] = [];
    for (let i = 0; i < 2; i++) {
      const single = await client.nextOf(CLUSTER_TYPE_URL);
      const names = Object.keys(sentVersions(single));
      expect(names).toHaveLength(1);
      seen.push(names[0]!);
      if (names[0] === CLUSTERS[1]) client.nack(single, 'connect_timeout must be positive');
      else client.ack(single);
    }
    expect(seen.sort()).toEqual([...CLUSTERS].sort());
    await expectNothingBefore(client, SECRET_TYPE_URL, ['user-ca']);
    expect(typeStatus(CLUSTER_TYPE_URL)?.rejectedResources).toEqual([`${CLUSTERS[1]}@${both.resourceVersions(CLUSTER_TYPE_URL).get(CLUSTERS[1])}`]);
    // The good cluster is what Envoy has now; the bad one is not in force, so nobody may take
    // the snapshot's version as accepted.
    expect(typeStatus(CLUSTER_TYPE_URL)?.ackedVersion).not.toBe(both.version(CLUSTER_TYPE_URL));
    expect(await h.cache.metricsText()).toMatch(/kubegate_xds_nacks_total\{type="CDS"\} 2/);
  });
});

describe('delta streams', () => {
  test('a first request without a node id is refused with INVALID_ARGUMENT', async () => {
    publish();
    const client = h.connectDelta(NODE);
    client.request(LISTENER_TYPE_URL, { noNode: true });
    const ended = await client.ended;
    expect(ended).not.toBe('ok');
    expect((ended as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  test('an unknown type is ignored and the stream carries on', async () => {
    publish();
    const client = h.connectDelta(NODE);
    client.request('type.googleapis.com/envoy.service.runtime.v3.Runtime', { subscribe: ['x'] });
    await expectNothingBefore(client, LISTENER_TYPE_URL, []);
  });

  test('the first request of a type before any snapshot is answered once the snapshot comes', async () => {
    const client = h.connectDelta(NODE);
    client.request(CLUSTER_TYPE_URL);
    await waitFor(() => (h.cache.nodeStatus(NODE)?.connectedStreams ?? 0) > 0);
    const snapshot = publish();
    expect(sentVersions(await client.nextOf(CLUSTER_TYPE_URL))).toEqual(versionsOf(snapshot, CLUSTER_TYPE_URL));
  });
});
