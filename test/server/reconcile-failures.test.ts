/**
 * What a failing store does to the reconcile loop: a drain decided while the store refuses the
 * write is kept and recorded when the store is back, by the loop's own retry (nobody calls
 * again), and the edge then publishes it; the caller that asked while the store was away is
 * told it failed rather than told it is in force.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ControlPlane } from '../../control-plane/server/control-plane';
import { SqliteStore } from '../../control-plane/store/sqlite-store';
import { loadOrCreatePki } from '../../control-plane/pki/kubegate-pki';
import { parseRequestAttributes } from '../../control-plane/kubernetes-api/request-attributes';
import { edgelessControlPlaneProps } from '../support/edgeless-control-plane';

const HOUR = 3_600_000;
const POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: dev}
spec:
  subjects: {groups: [dev]}
  clusters: {all: true}
  rules:
    - {apiGroups: [""], resources: [configmaps], verbs: ["*"], namespaces: [a]}
`;

let dir: string;
let store: SqliteStore;
let cp: ControlPlane;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-reconcile-failures-'));
  const pki = loadOrCreatePki({ stateDir: dir, now: new Date() });
  store = await SqliteStore.open(path.join(dir, 'kubegate.db'));
  cp = await ControlPlane.start(edgelessControlPlaneProps(dir, pki, store));
  cp.registerCluster({ name: 'alpha', apiserver: { host: '127.0.0.1', port: 6443, caPem: pki.servingCa.certPem }, proxyIdentity: pki.edgeServing });
  const now = Date.now();
  await store.applyPolicySet({ files: [{ fileName: 'dev.yaml', text: POLICY }], appliedAt: now, appliedBy: 'test', expectedRevision: 0 });
  await store.createUser({ name: 'alice', groups: ['dev'], now });
  await store.recordCertificate({ serial: '0a', user: 'alice', notBefore: now, notAfter: now + HOUR, issuedAt: now });
  await cp.refresh();
});

afterAll(async () => {
  await cp?.stop();
  await store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a drain the store could not take is recorded by the retry, and published', async () => {
  const before = cp.edgeUsers().find((u) => u.name === 'alice')!.revision;
  cp.openStreams.allowed(
    { requestId: 'watch-1', method: 'GET', path: '/clusters/alpha/api/v1/namespaces/a/configmaps?watch=true', headers: {}, sourceAddress: '', peerCertificatePem: '', serverName: '' },
    { allowed: true, identity: { user: 'alice', groups: ['dev'] }, cluster: 'alpha', reason: 'test' },
    parseRequestAttributes('GET', '/api/v1/namespaces/a/configmaps?watch=true'),
    Date.now(),
  );
  const recordDrains = store.recordDrains.bind(store);
  let refused = 0;
  store.recordDrains = async (drains) => {
    if (refused++ === 0) throw new Error('database is locked');
    return recordDrains(drains);
  };
  try {
    // alice leaves dev: her watch must close. The first rebuild cannot write the drain.
    await store.setUserGroups('alice', [], Date.now());
    await expect(cp.refresh()).rejects.toThrow('database is locked');
    // Nobody asks again: the loop retries by itself.
    const deadline = Date.now() + 10_000;
    while ((await store.loadState(Date.now())).edgeDrains.users.alice !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await store.loadState(Date.now())).edgeDrains.users).toEqual({ alice: 1 });
    await cp.refresh();
    expect(cp.edgeUsers().find((u) => u.name === 'alice')!.revision).not.toBe(before);
    expect(refused).toBe(2);
  } finally {
    store.recordDrains = recordDrains;
  }
});
