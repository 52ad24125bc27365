/**
 * The in-cluster controller's shared state in Secrets, against a real kube-apiserver: the first
 * replica creates the PKI Secret, a second one restores exactly the same CAs from it, a
 * renewal is stored back, a replica that loses the creation race is told so, and the edge's
 * client certificate and the admin kubeconfig land where the hub's manifests expect them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HubSecretError, HubSecretStore, inClusterKubeClient } from '../../control-plane/pki/hub-secret-store';
import { loadOrCreatePki } from '../../control-plane/pki/kubegate-pki';
import { ADMIN_KUBECONFIG_SECRET, EDGE_XDS_CLIENT_SECRET, HUB_PKI_SECRET } from '../../control-plane/hub-secrets/hub-secrets';
import { applyManifests, namespace, rejection, startAgentTestCluster, type AgentTestCluster } from '../agent/support/agent-test-cluster';

jest.setTimeout(120_000);

const NS = 'kubegate-system';
let t: AgentTestCluster;
let work: string;

beforeAll(async () => {
  t = await startAgentTestCluster('hub-secrets');
  await applyManifests(t.admin, [namespace(NS)]);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-hub-secrets-'));
});

afterAll(async () => {
  await t?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const secret = (name: string) => t.admin.get<{ data: Record<string, string>; metadata: { resourceVersion: string } }>(`/api/v1/namespaces/${NS}/secrets/${name}`);
const stateDir = (name: string) => fs.mkdtempSync(path.join(work, `${name}-`));

test('the first replica creates the PKI Secret; the next restores the same CAs from it', async () => {
  const store = new HubSecretStore(t.admin, NS);
  const first = stateDir('first');
  expect(await store.restorePki(path.join(first, 'pki'))).toBe(false);
  const pkiA = loadOrCreatePki({ stateDir: first, now: new Date() });
  expect(await store.savePki(pkiA.dir)).toBe('created');
  expect(await store.savePki(pkiA.dir)).toBe('unchanged');
  const stored = await secret(HUB_PKI_SECRET);
  expect(Object.keys(stored.data)).toEqual(expect.arrayContaining(['user-ca.crt', 'user-ca.key', 'internal-ca.key', 'assertion-signing.key']));

  const second = stateDir('second');
  expect(await store.restorePki(path.join(second, 'pki'))).toBe(true);
  const pkiB = loadOrCreatePki({ stateDir: second, now: new Date() });
  expect(pkiB.userCa.certPem).toBe(pkiA.userCa.certPem);
  expect(pkiB.internalCa.keyPem).toBe(pkiA.internalCa.keyPem);
  expect(pkiB.assertionSigningKeyPem).toBe(pkiA.assertionSigningKeyPem);
  expect(fs.statSync(path.join(second, 'pki', 'user-ca.key')).mode & 0o777).toBe(0o600);
});

test('a renewal is stored back, and a replica that creates too late is told it lost the race', async () => {
  const store = new HubSecretStore(t.admin, NS);
  const dir = stateDir('renewing');
  await store.restorePki(path.join(dir, 'pki'));
  const pki = loadOrCreatePki({ stateDir: dir, now: new Date() });
  const before = (await secret(HUB_PKI_SECRET)).data['edge-serving.crt'];
  pki.renewEdgeServing(new Date());
  expect(await store.savePki(pki.dir)).toBe('updated');
  expect((await secret(HUB_PKI_SECRET)).data['edge-serving.crt']).not.toBe(before);

  // Two replicas that both saw no Secret: the second create is refused by the apiserver.
  const other = new HubSecretStore(t.admin, 'race');
  await applyManifests(t.admin, [namespace('race')]);
  const [a, b] = [stateDir('race-a'), stateDir('race-b')];
  const [pkiA, pkiB] = [loadOrCreatePki({ stateDir: a, now: new Date() }), loadOrCreatePki({ stateDir: b, now: new Date() })];
  const outcomes = await Promise.all([other.savePki(pkiA.dir), other.savePki(pkiB.dir)]);
  expect(outcomes.sort()).toEqual(['created', 'lost-race']);
});

test('a replica that made its PKI before the Secret existed, and saves it after another created it, does not overwrite it', async () => {
  const late = new HubSecretStore(t.admin, 'late');
  await applyManifests(t.admin, [namespace('late')]);
  const [a, b] = [stateDir('late-a'), stateDir('late-b')];
  // Both looked, and found no Secret.
  expect(await late.restorePki(path.join(a, 'pki'))).toBe(false);
  expect(await late.restorePki(path.join(b, 'pki'))).toBe(false);
  const [pkiA, pkiB] = [loadOrCreatePki({ stateDir: a, now: new Date() }), loadOrCreatePki({ stateDir: b, now: new Date() })];
  expect(await late.savePki(pkiA.dir)).toBe('created');
  const stored = (await t.admin.get<{ data: Record<string, string> }>('/api/v1/namespaces/late/secrets/' + HUB_PKI_SECRET)).data;
  // B's CAs are not A's: B is told, and the Secret keeps A's.
  expect(await late.savePki(pkiB.dir)).toBe('other-pki');
  expect((await t.admin.get<{ data: Record<string, string> }>('/api/v1/namespaces/late/secrets/' + HUB_PKI_SECRET)).data).toEqual(stored);
  // What B does next (controller-pki.ts): restore, and serve with A's CAs.
  await late.restorePki(path.join(b, 'pki'));
  expect(loadOrCreatePki({ stateDir: b, now: new Date() }).servingCa.certPem).toBe(pkiA.servingCa.certPem);
});

test("the edge's client certificate and the admin kubeconfig are written under their names", async () => {
  const store = new HubSecretStore(t.admin, NS);
  const dir = stateDir('edge');
  const pki = loadOrCreatePki({ stateDir: dir, now: new Date() });
  const pair = pki.issueComponent('edge-xds-client', new Date());
  await store.putEdgeXdsClient(pair, pki.internalCa.certPem);
  const edge = await secret(EDGE_XDS_CLIENT_SECRET);
  expect(Buffer.from(edge.data['tls.crt']!, 'base64').toString()).toBe(pair.certPem);
  expect(Buffer.from(edge.data['ca.crt']!, 'base64').toString()).toBe(pki.internalCa.certPem);
  await store.putAdminKubeconfig('apiVersion: v1\nkind: Config\n');
  expect(await store.adminKubeconfig()).toBe('apiVersion: v1\nkind: Config\n');
  const version = (await secret(ADMIN_KUBECONFIG_SECRET)).metadata.resourceVersion;
  await store.putAdminKubeconfig('apiVersion: v1\nkind: Config\n');
  expect((await secret(ADMIN_KUBECONFIG_SECRET)).metadata.resourceVersion).toBe(version);
});

test('failures name the Secret and the reason', async () => {
  const store = new HubSecretStore(t.admin, 'no-such-namespace');
  const err = await rejection(() => store.putAdminKubeconfig('x'));
  expect(err).toBeInstanceOf(HubSecretError);
  expect((err as HubSecretError).code).toBe('ERR_HUB_SECRET');
  expect((err as Error).message).toMatch(/cannot write Secret no-such-namespace\/kubegate-admin-kubeconfig: .*not ?found/i);
  expect(() => inClusterKubeClient({})).toThrow(/KUBERNETES_SERVICE_HOST is not: the controller is not running in a pod/);
});
