import { silentLogger } from '../../control-plane/log/logger';
import { SnapshotCache } from '../../control-plane/xds/snapshot-cache';
import { InconsistentSnapshotError, Snapshot } from '../../control-plane/xds/snapshot';
import { InvalidResourceError } from '../../control-plane/xds/resource-encoding';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../control-plane/xds/resource-types';
import { fixtureResources, listener } from './support/fixtures';

const NODE = 'edge-1';

describe('setSnapshot', () => {
  test('stores the snapshot per node and tells that node\'s watchers only', () => {
    const cache = new SnapshotCache(silentLogger);
    const seen: string[] = [];
    cache.watch(NODE, (s) => seen.push(`edge-1:${s.version()}`));
    cache.watch('edge-2', (s) => seen.push(`edge-2:${s.version()}`));
    const snapshot = new Snapshot(fixtureResources());
    cache.setSnapshot(NODE, snapshot);
    expect(cache.getSnapshot(NODE)).toBe(snapshot);
    expect(cache.getSnapshot('edge-2')).toBeUndefined();
    expect(seen).toEqual([`edge-1:${snapshot.version()}`]);
  });

  test('a watch stops when its cancel function is called', () => {
    const cache = new SnapshotCache(silentLogger);
    let calls = 0;
    const stop = cache.watch(NODE, () => calls++);
    cache.setSnapshot(NODE, new Snapshot(fixtureResources()));
    stop();
    cache.setSnapshot(NODE, new Snapshot(fixtureResources({ listenerPort: 1 })));
    expect(calls).toBe(1);
  });

  test.each([
    ['a missing route configuration', { routes: [] }, InconsistentSnapshotError],
    ['missing load assignments', { endpoints: [] }, InconsistentSnapshotError],
    ['missing secrets', { secrets: [] }, InconsistentSnapshotError],
    ['a resource that does not match the protos', { listeners: [{ ...listener('edge', 'edge-routes', 8443), bogus: true }] }, InvalidResourceError],
  ])('refuses a snapshot with %s and changes nothing', async (_what, patch, errorClass) => {
    const cache = new SnapshotCache(silentLogger);
    const good = new Snapshot(fixtureResources());
    cache.setSnapshot(NODE, good);
    let notified = 0;
    cache.watch(NODE, () => notified++);
    const bad = new Snapshot({ ...fixtureResources({ listenerPort: 9999 }), ...patch });
    expect(() => cache.setSnapshot(NODE, bad)).toThrow(errorClass);
    expect(cache.getSnapshot(NODE)).toBe(good);
    expect(cache.status().nodes[NODE]!.snapshotVersion).toBe(good.version());
    expect(notified).toBe(0);
    expect(await cache.metricsText()).toMatch(/^kubegate_xds_snapshots_refused_total 1$/m);
    expect(await cache.metricsText()).toMatch(/^kubegate_xds_snapshots_set_total 1$/m);
  });

  test('a refused first snapshot leaves the node without one', () => {
    const cache = new SnapshotCache(silentLogger);
    expect(() => cache.setSnapshot(NODE, new Snapshot({ ...fixtureResources(), routes: [] }))).toThrow(InconsistentSnapshotError);
    expect(cache.getSnapshot(NODE)).toBeUndefined();
  });

  test('needs a node id', () => {
    expect(() => new SnapshotCache(silentLogger).setSnapshot('', new Snapshot(fixtureResources()))).toThrow(/node id/);
  });
});

describe('records and status', () => {
  test('ACKs, NACKs and the versions a node rejected', () => {
    const cache = new SnapshotCache(silentLogger);
    const snapshot = new Snapshot(fixtureResources());
    cache.setSnapshot(NODE, snapshot);
    cache.recordSent(NODE, CLUSTER_TYPE_URL, 'v1');
    cache.recordAck(NODE, CLUSTER_TYPE_URL, 'v1');
    cache.recordSent(NODE, CLUSTER_TYPE_URL, 'v2');
    cache.recordNack(NODE, CLUSTER_TYPE_URL, { version: 'v2', nonce: '7', message: 'no', time: '2025-01-01T00:00:00.000Z' });
    expect(cache.isRejected(NODE, CLUSTER_TYPE_URL, 'v2')).toBe(true);
    expect(cache.isRejected(NODE, LISTENER_TYPE_URL, 'v2')).toBe(false);
    expect(cache.isRejected('edge-2', CLUSTER_TYPE_URL, 'v2')).toBe(false);
    expect(cache.status().nodes[NODE]!.types[CLUSTER_TYPE_URL]).toEqual({
      type: 'CDS',
      snapshotVersion: snapshot.version(CLUSTER_TYPE_URL),
      sentVersion: 'v2',
      ackedVersion: 'v1',
      lastNack: { version: 'v2', nonce: '7', message: 'no', time: '2025-01-01T00:00:00.000Z' },
      rejectedVersions: ['v2'],
      rejectedResources: [],
    });
    // Accepted after all (an Envoy restarted with a fix): no longer held back.
    cache.recordAck(NODE, CLUSTER_TYPE_URL, 'v2');
    expect(cache.isRejected(NODE, CLUSTER_TYPE_URL, 'v2')).toBe(false);
  });

  test('delta: single resources rejected are recorded per node, type, name and version, and bounded', () => {
    const cache = new SnapshotCache(silentLogger);
    cache.recordRejectedResource(NODE, CLUSTER_TYPE_URL, 'alpha', 'a1');
    expect(cache.isResourceRejected(NODE, CLUSTER_TYPE_URL, 'alpha', 'a1')).toBe(true);
    expect(cache.isResourceRejected(NODE, CLUSTER_TYPE_URL, 'alpha', 'a2')).toBe(false);
    expect(cache.isResourceRejected(NODE, LISTENER_TYPE_URL, 'alpha', 'a1')).toBe(false);
    expect(cache.isResourceRejected('edge-2', CLUSTER_TYPE_URL, 'alpha', 'a1')).toBe(false);
    for (let i = 0; i < 40; i++) cache.recordRejectedResource(NODE, CLUSTER_TYPE_URL, 'beta', `b${i}`);
    const kept = cache.status().nodes[NODE]!.types[CLUSTER_TYPE_URL]!.rejectedResources;
    expect(kept).toHaveLength(32);
    expect(kept[kept.length - 1]).toBe('beta@b39');
    expect(cache.isResourceRejected(NODE, CLUSTER_TYPE_URL, 'alpha', 'a1')).toBe(false);
  });

  test('delta: in sync counts as accepted for waiters, not as an ACK', async () => {
    const cache = new SnapshotCache(silentLogger);
    const accepted = cache.whenAccepted(NODE, LISTENER_TYPE_URL, (v) => v === 'v3', 2000);
    cache.recordInSync(NODE, LISTENER_TYPE_URL, 'v3');
    await expect(accepted).resolves.toBe(true);
    expect(cache.status().nodes[NODE]!.types[LISTENER_TYPE_URL]!.ackedVersion).toBe('v3');
    expect(await cache.metricsText()).toMatch(/kubegate_xds_acks_total\{type="LDS"\} 0/);
  });

  test('the rejected versions kept per node and type are bounded', () => {
    const cache = new SnapshotCache(silentLogger);
    for (let i = 0; i < 40; i++) cache.recordNack(NODE, CLUSTER_TYPE_URL, { version: `v${i}`, nonce: `${i}`, message: '', time: '' });
    expect(cache.isRejected(NODE, CLUSTER_TYPE_URL, 'v39')).toBe(true);
    expect(cache.isRejected(NODE, CLUSTER_TYPE_URL, 'v0')).toBe(false);
    expect(cache.status().nodes[NODE]!.types[CLUSTER_TYPE_URL]!.rejectedVersions).toHaveLength(32);
  });

  test('a node that only ever had a stream and no snapshot is forgotten when the stream goes', () => {
    const cache = new SnapshotCache(silentLogger);
    cache.streamOpened('typo-node', 'sotw');
    expect(cache.status().nodes['typo-node']!.connectedStreams).toBe(1);
    cache.streamClosed('typo-node', 'sotw');
    expect(cache.status().nodes['typo-node']).toBeUndefined();
  });

  test("a node's status counts its open streams by ADS variant, leaving closed variants out", () => {
    const cache = new SnapshotCache(silentLogger);
    cache.setSnapshot(NODE, new Snapshot(fixtureResources()));
    expect(cache.status().nodes[NODE]!.streamProtocols).toEqual({});
    cache.streamOpened(NODE, 'delta');
    cache.streamOpened(NODE, 'delta');
    cache.streamOpened(NODE, 'sotw');
    expect(cache.status().nodes[NODE]).toMatchObject({ connectedStreams: 3, streamProtocols: { delta: 2, sotw: 1 } });
    cache.streamClosed(NODE, 'sotw');
    cache.streamClosed(NODE, 'delta');
    expect(cache.status().nodes[NODE]).toMatchObject({ connectedStreams: 1, streamProtocols: { delta: 1 } });
    expect(Object.keys(cache.status().nodes[NODE]!.streamProtocols)).toEqual(['delta']);
  });

  test('metricsText is Prometheus text with every counter, per type where it applies', async () => {
    const cache = new SnapshotCache(silentLogger);
    cache.setSnapshot(NODE, new Snapshot(fixtureResources()));
    cache.streamOpened(NODE, 'sotw');
    cache.recordSent(NODE, LISTENER_TYPE_URL, 'a');
    cache.recordSent(NODE, LISTENER_TYPE_URL, 'b');
    cache.recordAck(NODE, LISTENER_TYPE_URL, 'b');
    cache.recordNack(NODE, CLUSTER_TYPE_URL, { version: 'c', nonce: '1', message: '', time: '' });
    const text = await cache.metricsText();
    expect(text).toContain('# TYPE kubegate_xds_pushes_total counter\n');
    expect(text).toContain('kubegate_xds_pushes_total{type="LDS"} 2\n');
    expect(text).toContain('kubegate_xds_pushes_total{type="CDS"} 0\n');
    expect(text).toContain('kubegate_xds_acks_total{type="LDS"} 1\n');
    expect(text).toContain('kubegate_xds_nacks_total{type="CDS"} 1\n');
    expect(text).toContain('# TYPE kubegate_xds_streams_active gauge\nkubegate_xds_streams_active 1\n');
    expect(text).toContain('kubegate_xds_streams_total 1\n');
    expect(text).toContain('kubegate_xds_snapshots_set_total 1\n');
    // Every sample line is "name{labels} value" or "name value".
    for (const line of text.trimEnd().split('\n').filter((l) => !l.startsWith('#'))) expect(line).toMatch(/^[a-z_]+(\{type="[A-Z]{3}"\})? \d+$/);
  });
});
