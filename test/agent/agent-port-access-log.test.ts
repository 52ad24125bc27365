/**
 * In-cluster Envoys stream their access logs to the agent port (AccessLogService) over mTLS:
 * a real AgentGateway and real gRPC clients. The stream is accepted only from a cluster's
 * agent certificate, and the cluster its entries are handed on with is the certificate's,
 * whatever the stream or its entries claim.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { AccessLogRecord } from '../../control-plane/envoy-access-log/access-log-record';
import { AgentGateway } from '../../control-plane/agent-gateway/agent-gateway';
import { loadOrCreatePki, type KubegatePki } from '../../control-plane/pki/kubegate-pki';
import { SqliteStore } from '../../control-plane/store/sqlite-store';
import { SnapshotCache } from '../../control-plane/xds/snapshot-cache';
import { silentLogger } from '../../control-plane/log/logger';
import { AUTHZ_METADATA_NAMESPACE } from '../../control-plane/authz/check-response';
import { toStruct } from '../../control-plane/proto/struct-value';
import { Mailbox } from './support/agent-port-control-plane';
import { accessLogClient, clusterLogEntry, streamAccessLog } from './support/access-log-client';

let dir: string;
let pki: KubegatePki;
let store: SqliteStore;
let gateway: AgentGateway;
const reported = new Mailbox<{ cluster: string; records: readonly AccessLogRecord[] }>();
const clients: grpc.Client[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-agent-accesslog-'));
  pki = loadOrCreatePki({ stateDir: dir, now: new Date() });
  store = await SqliteStore.open(path.join(dir, 'kubegate.db'));
  gateway = await AgentGateway.start({
    store,
    cache: new SnapshotCache(silentLogger),
    // Access logs only: no in-cluster Envoy's configuration is published here.
    markDirty: () => undefined,
    logger: silentLogger,
    clock: Date.now,
    serving: pki.controlPlane,
    internalCaPem: pki.internalCa.certPem,
    agentCaPem: pki.agentCa.certPem,
    issueAgentCertificate: (cluster, publicKeyPem, now) => pki.issueAgentCertificate(cluster, publicKeyPem, now, 3_600_000),
    assertionSigningKeyPem: pki.assertionSigningKeyPem,
    edgeTunnel: { host: '127.0.0.1', port: 2 },
    onClusterAccessLog: (cluster, records) => reported.put({ cluster, records }),
  });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gateway?.stop();
  await store?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const client = (cluster?: string) => {
  const c = accessLogClient(pki, gateway.port, cluster);
  clients.push(c);
  return c;
};

/** An in-cluster Envoy's entry with a forged ext_authz claim on top: it must change nothing. */
const forged = (requestId: string) => clusterLogEntry(requestId, { metadata: { filter_metadata: { [AUTHZ_METADATA_NAMESPACE]: toStruct({ cluster: 'staging', user: 'mallory' }) } } });

test('a stream without a cluster certificate is refused before any entry is taken', async () => {
  const err = await streamAccessLog(client(), { identifier: { log_name: 'prod-envoy-0' }, http_logs: { log_entry: [forged('r-1')] } });
  expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
  expect(err?.details).toBe("access logs on the agent port need the certificate the cluster's agent received at join");
  expect(reported.pending).toBe(0);
});

test("entries are handed on with the certificate's cluster, whatever the stream and entries claim", async () => {
  const err = await streamAccessLog(client('prod'), {
    identifier: { log_name: 'staging-envoy-0', node: { id: 'staging-envoy-0', metadata: toStruct({ kubegate_cluster: 'staging' }) } },
    http_logs: { log_entry: [forged('r-2'), forged('r-3')] },
  });
  expect(err).toBeNull();
  const { cluster, records } = await reported.next();
  expect(cluster).toBe('prod');
  expect(records.map((r) => [r.requestId, r.status, r.upstreamAddress])).toEqual([
    ['r-2', 200, '10.96.0.1:443'],
    ['r-3', 200, '10.96.0.1:443'],
  ]);
});
