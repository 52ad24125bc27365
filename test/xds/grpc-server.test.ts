/**
 * The xDS port is mTLS only: a client certificate from the internal CA is required, and
 * without one the server never sees a request.
 */
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../control-plane/log/logger';
import { addAdsService } from '../../control-plane/xds/ads-server';
import { startGrpcServer, type RunningGrpcServer } from '../../control-plane/xds/grpc-server';
import { SnapshotCache } from '../../control-plane/xds/snapshot-cache';
import { Snapshot } from '../../control-plane/xds/snapshot';
import { LISTENER_TYPE_URL } from '../../control-plane/xds/resource-types';
import { AdsTestClient } from './support/ads-test-client';
import { fixtureResources } from './support/fixtures';
import { createTestPki, type TestPki } from './support/test-pki';

const NODE = 'edge-1';
let pki: TestPki;
let cache: SnapshotCache;
let server: RunningGrpcServer;
const clients: AdsTestClient[] = [];

beforeAll(() => {
  pki = createTestPki();
});

beforeEach(async () => {
  cache = new SnapshotCache(silentLogger);
  cache.setSnapshot(NODE, new Snapshot(fixtureResources()));
  server = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    tls: { caPem: pki.ca.certPem, certPem: pki.server.certPem, keyPem: pki.server.keyPem },
    logger: silentLogger,
    register: (s) => addAdsService(s, cache, silentLogger),
    shutdownGraceMs: 300,
  });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.stop();
});

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function afterCurrent(cleanup: () => void): void {
  cleanups.push(cleanup);
}

function connect(client?: TestPki['client']): AdsTestClient {
  const c = new AdsTestClient(server.port, { caPem: pki.ca.certPem, client }, NODE);
  clients.push(c);
  return c;
}

async function expectRefused(client: AdsTestClient): Promise<void> {
  client.request(LISTENER_TYPE_URL);
  const ended = await client.ended;
  expect(ended.kind).toBe('error');
  expect(ended.kind === 'error' && ended.error.code).toBe(grpc.status.UNAVAILABLE);
  expect(client.pending()).toHaveLength(0);
  // The ADS service never saw the stream.
  expect(cache.status().nodes[NODE]!.connectedStreams).toBe(0);
  expect(await cache.metricsText()).toMatch(/^kubegate_xds_streams_total 0$/m);
}

test('binds a free port when asked for port 0 and serves a client with a certificate from the CA', async () => {
  expect(server.port).toBeGreaterThan(0);
  const client = connect(pki.client);
  client.request(LISTENER_TYPE_URL);
  const response = await client.nextOf(LISTENER_TYPE_URL);
  expect(response.version_info).toBe(cache.getSnapshot(NODE)!.version(LISTENER_TYPE_URL));
  expect(cache.status().nodes[NODE]!.connectedStreams).toBe(1);
});

test('a client without a certificate is refused', async () => {
  await expectRefused(connect(undefined));
});

test('a client whose certificate comes from another CA is refused', async () => {
  await expectRefused(connect(pki.strangerClient));
});

test('stop() ends open streams within the grace period, is idempotent, and the port then refuses connections', async () => {
  const client = connect(pki.client);
  client.request(LISTENER_TYPE_URL);
  await client.nextOf(LISTENER_TYPE_URL);
  const started = Date.now();
  await Promise.all([server.stop(), server.stop()]);
  expect(Date.now() - started).toBeLessThan(3000);
  const ended = await client.ended;
  expect(ended.kind).toBe('error');
  const late = connect(pki.client);
  late.request(LISTENER_TYPE_URL);
  const lateEnd = await late.ended;
  expect(lateEnd.kind === 'error' && lateEnd.error.code).toBe(grpc.status.UNAVAILABLE);
});

test('a port that cannot be bound is reported', async () => {
  // grpc-js also logs the failure on its own; keep the test output clean.
  grpc.setLogVerbosity(grpc.logVerbosity.NONE);
  afterCurrent(() => grpc.setLogVerbosity(grpc.logVerbosity.ERROR));
  await expect(
    startGrpcServer({
      host: '127.0.0.1',
      port: server.port,
      tls: { caPem: pki.ca.certPem, certPem: pki.server.certPem, keyPem: pki.server.keyPem },
      logger: silentLogger,
      register: (s) => addAdsService(s, cache, silentLogger),
    }),
  ).rejects.toThrow(/could not bind the gRPC port 127\.0\.0\.1:\d+/);
});
