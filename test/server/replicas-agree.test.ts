/**
 * Two controllers over one PostgreSQL compute byte-identical snapshots from the same data:
 * everything that shapes the edge's configuration comes from the store (desired-state/), the
 * drains one replica decides included. Replica A tracks a watch whose user then loses access;
 * A records the drain in the store, and B, which never saw the stream, publishes the same
 * drained chain.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ControlPlane } from '../../control-plane/server/control-plane';
import { PostgresStore } from '../../control-plane/store/postgres-store';
import type { Store } from '../../control-plane/store/store';
import { loadOrCreatePki, type KubegatePki } from '../../control-plane/pki/kubegate-pki';
import { parseRequestAttributes } from '../../control-plane/kubernetes-api/request-attributes';
import { LISTENER_TYPE_URL } from '../../control-plane/xds/resource-types';
import { edgelessControlPlaneProps } from '../support/edgeless-control-plane';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const HOUR = 3_600_000;
const policy = (groups: string[]) => `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: dev}
spec:
  subjects: {groups: [${groups.join(', ')}]}
  clusters: {all: true}
  rules:
    - {apiGroups: [""], resources: [configmaps], verbs: ["*"], namespaces: [a]}
`;

let server: PostgresServer;
let dir: string;
let pki: KubegatePki;
let stores: Store[] = [];
let replicas: ControlPlane[] = [];
const now = NOW;

beforeAll(async () => {
  server = await startPostgresServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-replicas-'));
  pki = loadOrCreatePki({ stateDir: dir, now: new Date(NOW) });
  const url = await server.createDatabase();
  stores = [await PostgresStore.open(url), await PostgresStore.open(url)];
  for (let i = 0; i < stores.length; i++) fs.mkdirSync(path.join(dir, `replica-${i}`));
  replicas = await Promise.all(
    stores.map((store, i) => ControlPlane.start({ ...edgelessControlPlaneProps(path.join(dir, `replica-${i}`), pki, store), clock: () => now })),
  );
  for (const cp of replicas) cp.registerCluster({ name: 'alpha', apiserver: { host: '127.0.0.1', port: 6443, caPem: pki.servingCa.certPem }, proxyIdentity: pki.edgeServing });
}, 60_000);

afterAll(async () => {
  for (const cp of replicas) await cp.stop();
  for (const store of stores) await store.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Both replicas in force with what the store holds now; their edge snapshots, serialized. */
async function snapshots(): Promise<string[]> {
  for (const cp of replicas) await cp.refresh();
  return replicas.map((cp) => JSON.stringify(cp.cache.getSnapshot(cp.nodeId)!.resources()));
}

test('the same store data give both replicas the same snapshot, byte for byte', async () => {
  const [a] = stores as [Store, Store];
  await a.applyPolicySet({ files: [{ fileName: 'dev.yaml', text: policy(['dev']) }], appliedAt: NOW, appliedBy: 'test', expectedRevision: 0 });
  for (const name of ['alice', 'bob', 'carol']) await a.createUser({ name, groups: ['dev'], now: NOW });
  for (const [serial, user] of [['0a', 'alice'], ['0b', 'bob'], ['0c', 'carol']] as const) await a.recordCertificate({ serial, user, notBefore: NOW, notAfter: NOW + 8 * HOUR, issuedAt: NOW });
  await a.revokeUser('carol', NOW, 'test');
  const [first, second] = await snapshots();
  expect(first).toEqual(second);
  expect(replicas[0]!.edgeUsers().map((u) => u.name)).toEqual(['alice', 'bob']);
  expect(replicas[1]!.edgeUsers()).toEqual(replicas[0]!.edgeUsers());
});

test("a drain one replica decides reaches the other through the store: both publish it", async () => {
  const [a, b] = replicas as [ControlPlane, ControlPlane];
  const before = b.edgeUsers().find((u) => u.name === 'alice')!.revision;
  // alice's watch was allowed by replica A's ext_authz; only A tracks it.
  const attributes = parseRequestAttributes('GET', '/api/v1/namespaces/a/configmaps?watch=true');
  const tracked = a.openStreams.allowed(
    { requestId: 'watch-1', method: 'GET', path: '/clusters/alpha/api/v1/namespaces/a/configmaps?watch=true', headers: {}, sourceAddress: '', peerCertificatePem: '', serverName: '' },
    { allowed: true, identity: { user: 'alice', groups: ['dev'] }, cluster: 'alpha', reason: 'test' },
    attributes,
    now,
  );
  expect(tracked).toBe(true);
  expect(b.openStreams.size).toBe(0);
  // alice leaves group dev: her watch is no longer allowed; A records her drain.
  await stores[0]!.setUserGroups('alice', [], now);
  const [first, second] = await snapshots();
  // B may have rebuilt before A's drain was recorded; once both are in force they agree.
  expect(first).toEqual(second);
  const after = b.edgeUsers().find((u) => u.name === 'alice')!.revision;
  expect(after).not.toBe(before);
  expect(a.edgeUsers().find((u) => u.name === 'alice')!.revision).toBe(after);
  expect((await stores[1]!.loadState(now)).edgeDrains.users).toEqual({ alice: 1 });
  expect(a.cache.getSnapshot(a.nodeId)!.version(LISTENER_TYPE_URL)).toBe(b.cache.getSnapshot(b.nodeId)!.version(LISTENER_TYPE_URL));
});
