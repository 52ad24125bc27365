/** A real mTLS gRPC server with the ADS service over a fresh cache, and its log lines. */
import { createLogger } from '../../../control-plane/log/logger';
import { addAdsService } from '../../../control-plane/xds/ads-server';
import { startGrpcServer } from '../../../control-plane/xds/grpc-server';
import { SnapshotCache } from '../../../control-plane/xds/snapshot-cache';
import { AdsTestClient } from './ads-test-client';
import { DeltaTestClient } from './delta-test-client';
import type { TestPki } from './test-pki';

export interface LogLine {
  readonly level: string;
  readonly component: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface AdsHarness {
  readonly cache: SnapshotCache;
  readonly port: number;
  readonly logs: LogLine[];
  /** A client with the internal CA's client certificate. */
  connect(nodeId: string): AdsTestClient;
  /** The same, speaking delta xDS. */
  connectDelta(nodeId: string): DeltaTestClient;
  stop(): Promise<void>;
}

export async function startAdsHarness(pki: TestPki): Promise<AdsHarness> {
  const logs: LogLine[] = [];
  const logger = createLogger('test', { level: 'debug', sink: (line) => logs.push(JSON.parse(line) as LogLine) });
  const cache = new SnapshotCache(logger.child('cache'));
  const clients: Array<{ close(): void }> = [];
  const server = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    tls: { caPem: pki.ca.certPem, certPem: pki.server.certPem, keyPem: pki.server.keyPem },
    logger: logger.child('grpc'),
    register: (s) => addAdsService(s, cache, logger.child('ads')),
    shutdownGraceMs: 500,
  });
  return {
    cache,
    port: server.port,
    logs,
    connect: (nodeId) => {
      const client = new AdsTestClient(server.port, { caPem: pki.ca.certPem, client: pki.client }, nodeId);
      clients.push(client);
      return client;
    },
    connectDelta: (nodeId) => {
      const client = new DeltaTestClient(server.port, { caPem: pki.ca.certPem, client: pki.client }, nodeId);
      clients.push(client);
      return client;
    },
    stop: async () => {
      for (const c of clients) c.close();
      await server.stop();
    },
  };
}

/** Polls until probe returns something truthy. */
export async function waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
