/**
 * Filter chains only for users who hold a live certificate, against a real control plane (SQLite
 * store, the PKI `kubegate dev up` makes) with a hand-driven ADS client in the edge's place, so
 * the test decides when "Envoy" accepts a listener. The control plane's clock runs two days
 * ahead of the real one: a certificate that expires by it would not have by Date.now, so every
 * expiry decision must come from the injected clock.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ControlPlane } from '../../control-plane/server/control-plane';
import { SqliteStore } from '../../control-plane/store/sqlite-store';
import { loadOrCreatePki, type KubegatePki } from '../../control-plane/pki/kubegate-pki';
import { CONTROL_PLANE_SERVER_NAME } from '../../control-plane/envoy/bootstrap';
import { issueKubeconfig, type IssuedKubeconfig } from '../../control-plane/credentials/kubeconfig-issuer';
import { DEFAULT_USER_SERVER_NAME_SUFFIX, userShard } from '../../control-plane/identity/user-identity';
import { DEFAULT_USER_SHARDS } from '../../control-plane/translator/input';
import { EDGE_LISTENER, edgeShardListenerName } from '../../control-plane/translator/names';
import { LISTENER_TYPE_URL } from '../../control-plane/xds/resource-types';
import { AdsTestClient, decodeResources, type DiscoveryResponse } from '../xds/support/ads-test-client';
import { edgelessControlPlaneProps } from '../support/edgeless-control-plane';

const NODE = 'edge-0';
/** The control plane lives two days ahead; certificates are judged by its clock, never Date.now. */
const CLOCK_OFFSET_MS = 2 * 24 * 3_600_000;
const clock = () => Date.now() + CLOCK_OFFSET_MS;

const POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: dev-alpha}
spec:
  subjects: {groups: [dev]}
  clusters: {names: [alpha]}
  rules:
    - {apiGroups: [""], resources: [configmaps], verbs: [get]}
`;

let dir: string;
let pki: KubegatePki;
let store: SqliteStore;
let cp: ControlPlane;
let edge: AdsTestClient;
let serial = 0x1000;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-live-chains-'));
  pki = loadOrCreatePki({ stateDir: dir, now: new Date() });
  store = await SqliteStore.open(path.join(dir, 'kubegate.db'));
  for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) await store.createUser({ name, groups: ['dev'], now: clock() });
  await store.applyPolicySet({ files: [{ fileName: 'dev.yaml', text: POLICY }], appliedAt: clock(), appliedBy: 'test', expectedRevision: 0 });
  cp = await ControlPlane.start({ ...edgelessControlPlaneProps(dir, pki, store, NODE), clock });
  cp.registerCluster({ name: 'alpha', apiserver: { host: '127.0.0.1', port: 6443, caPem: pki.servingCa.certPem }, proxyIdentity: pki.edgeServing });
  edge = new AdsTestClient(cp.port, { caPem: pki.internalCa.certPem, client: pki.issueComponent('edge', new Date()), serverName: CONTROL_PLANE_SERVER_NAME }, NODE);
  edge.request(LISTENER_TYPE_URL);
});

afterAll(async () => {
  edge?.close();
  await cp?.stop();
  await store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Chain {
  name: string;
  metadata?: { filter_metadata?: Record<string, { fields?: Record<string, { string_value?: string; stringValue?: string }> }> };
}

/** The users' listeners: the edge's one, or (users split across shards, the default) every shard's. */
function usersListeners(response: DiscoveryResponse): Array<{ name: string; filter_chains?: Chain[] }> {
  const listeners = decodeResources(response) as Array<{ name: string; filter_chains?: Chain[] }>;
  const shards = listeners.filter((l) => l.name.startsWith('edge-shard-'));
  return shards.length > 0 ? shards : listeners.filter((l) => l.name === EDGE_LISTENER);
}

function chainsOf(response: DiscoveryResponse): Chain[] {
  return usersListeners(response).flatMap((l) => l.filter_chains ?? []);
}

/** The users with a filter chain of their own in an LDS response. */
function chainUsers(response: DiscoveryResponse): string[] {
  return chainsOf(response)
    .filter((c) => c.name.startsWith('user/'))
    .map((c) => c.name.replace(/^user\//, ''))
    .sort();
}

/** By listener, the revision of the chain that serves users' server names without a chain of their own. */
function fallbackRevisions(response: DiscoveryResponse): Map<string, string | undefined> {
  return new Map(
    usersListeners(response).map((l) => {
      const field = (l.filter_chains ?? []).find((c) => c.name === 'users-fallback')?.metadata?.filter_metadata?.kubegate?.fields?.revision;
      return [l.name, field?.string_value ?? field?.stringValue];
    }),
  );
}

let lastFallbackRevisions = new Map<string, string | undefined>();

/** Takes LDS responses, ACKing each, until one satisfies `until`. */
async function nextListener(until: (users: string[]) => boolean, timeoutMs = 10_000): Promise<string[]> {
  for (;;) {
    const response = await edge.nextOf(LISTENER_TYPE_URL, timeoutMs);
    edge.ack(response);
    lastFallbackRevisions = fallbackRevisions(response);
    const users = chainUsers(response);
    if (until(users)) return users;
  }
}

/** Records a certificate straight into the store, as another replica would. */
async function recordCertificate(user: string, notAfter: number): Promise<void> {
  const now = clock();
  await store.recordCertificate({ serial: (serial++).toString(16), user, notBefore: now - 60_000, notAfter, issuedAt: now });
}

const HOUR = 3_600_000;

test('a user has a filter chain only while holding an unrevoked certificate', async () => {
  // Nobody holds a certificate yet: the listener has only its default chain.
  expect(await nextListener(() => true)).toEqual([]);

  await recordCertificate('bob', clock() + HOUR);
  await cp.refresh();
  expect(await nextListener((users) => users.includes('bob'))).toEqual(['bob']);
  expect(cp.edgeUsers().map((u) => u.name)).toEqual(['bob']);

  const fallbackBefore = lastFallbackRevisions;
  expect(fallbackBefore.size).toBe(DEFAULT_USER_SHARDS);
  for (const revision of fallbackBefore.values()) expect(revision).toBeDefined();
  await store.revokeUser('bob', clock(), 'test');
  await cp.refresh();
  expect(await nextListener((users) => !users.includes('bob'))).toEqual([]);
  // A connection bob opened before his chain existed was served on his shard's fallback chain:
  // it is drained with his. The other shards' listeners stay as they were.
  const bobsShard = edgeShardListenerName(userShard('bob', DEFAULT_USER_SHARDS));
  const changed = [...lastFallbackRevisions].filter(([listener, revision]) => fallbackBefore.get(listener) !== revision).map(([listener]) => listener);
  expect(changed).toEqual([bobsShard]);
});

test('issuing a kubeconfig returns once the edge has accepted the user’s filter chain', async () => {
  let issued: IssuedKubeconfig | undefined;
  const issuing = issueKubeconfig(
    {
      store,
      access: cp.access,
      userCa: pki.userCa,
      edgeUrl: 'https://127.0.0.1:1',
      edgeCaPem: pki.servingCa.certPem,
      userServerNameSuffix: DEFAULT_USER_SERVER_NAME_SUFFIX,
    },
    { user: 'alice', ttlMs: HOUR, now: new Date(clock()) },
  ).then((result) => (issued = result));

  const response = await edge.nextOf(LISTENER_TYPE_URL);
  expect(chainUsers(response)).toEqual(['alice']);
  // The chain was sent but not accepted yet: the kubeconfig is not handed out.
  await new Promise((resolve) => setImmediate(resolve));
  expect(issued).toBeUndefined();

  edge.ack(response);
  await issuing;
  expect(issued).toMatchObject({ user: 'alice', clusters: ['alpha'], edge: 'confirmed' });
});

test('when a certificate expires the chain goes, unless the user holds a newer one', async () => {
  const expiresAt = clock() + 1_500;
  // carol's only certificate expires at expiresAt.
  await recordCertificate('carol', expiresAt);
  // dave's known certificate expires then too, but he holds a newer one the control plane was
  // not asked about (he had a live certificate when it was recorded).
  await recordCertificate('dave', expiresAt);
  await cp.refresh();
  expect(await nextListener((users) => users.includes('carol') && users.includes('dave'))).toEqual(['alice', 'carol', 'dave']);
  await recordCertificate('dave', expiresAt + HOUR);
  await cp.refresh();

  const after = await nextListener((users) => !users.includes('carol'));
  // Not a moment early, by the control plane's clock.
  expect(clock()).toBeGreaterThanOrEqual(expiresAt);
  expect(after).toEqual(['alice', 'dave']);
  expect(cp.edgeUsers().find((u) => u.name === 'dave')?.certificateNotAfter).toBe(expiresAt + HOUR);
});

test('a disabled user has no chain, and gets it back when enabled while the certificate lives', async () => {
  await recordCertificate('erin', clock() + HOUR);
  await cp.refresh();
  expect(await nextListener((users) => users.includes('erin'))).toContain('erin');
  await store.setUserDisabled('erin', true, clock());
  await cp.refresh();
  expect(await nextListener((users) => !users.includes('erin'))).not.toContain('erin');
  await store.setUserDisabled('erin', false, clock());
  await cp.refresh();
  expect(await nextListener((users) => users.includes('erin'))).toContain('erin');
});

test("a new user's first chain leaves every fallback chain alone; deleting a user drains every shard's", async () => {
  await store.createUser({ name: 'fay', groups: ['dev'], now: clock() });
  await recordCertificate('fay', clock() + HOUR);
  const before = lastFallbackRevisions;
  await cp.refresh();
  expect(await nextListener((users) => users.includes('fay'))).toContain('fay');
  // fay never lost access: nothing on a fallback chain has to go because she came.
  expect(lastFallbackRevisions).toEqual(before);

  // A deleted user leaves nothing else behind to tell which shard held her connections.
  await store.deleteUser('fay');
  await cp.refresh();
  expect(await nextListener((users) => !users.includes('fay'))).not.toContain('fay');
  const changed = [...lastFallbackRevisions].filter(([listener, revision]) => before.get(listener) !== revision);
  expect(changed).toHaveLength(DEFAULT_USER_SHARDS);
});
