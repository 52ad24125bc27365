/**
 * The tunnel authorizer with several controller replicas: the one that holds no connection of
 * a cluster's agent leaves the request to the replica that does (DecidedElsewhereError, which
 * the check service answers UNAVAILABLE and the edge retries elsewhere) only when the shared
 * store heard from that agent recently; otherwise the cluster is disconnected and the user gets
 * the 503 that says so. What the store said is trusted for a second. A replica that is
 * draining leaves every cluster it holds no session of to the others, without asking the store.
 */
import { DecidedElsewhereError, type Authorizer, type AuthzRequest, type Decision } from '../../control-plane/authz/decision';
import { TunnelAuthorizer } from '../../control-plane/agent-gateway/tunnel-authorizer';
import { ClusterDisconnectedError } from '../../control-plane/agent-gateway/agent-errors';
import type { AgentHub } from '../../control-plane/agent-gateway/agent-hub';
import type { AssertionSigner } from '../../control-plane/agent-gateway/identity-assertion';

const request: AuthzRequest = { requestId: 'r1', method: 'GET', path: '/clusters/edge-a/api/v1/pods', headers: {}, sourceAddress: '10.0.0.1', peerCertificatePem: '', serverName: '' };
const allow: Authorizer = { decide: (): Decision => ({ allowed: true, identity: { user: 'alice', groups: [] }, cluster: 'edge-a', reason: 'test' }) };
const disconnected = { ensureAccess: () => Promise.reject(new ClusterDisconnectedError('edge-a', undefined)), onlyLeaving: () => false } as unknown as AgentHub;
const signer = { sign: async () => 'token' } as unknown as AssertionSigner;

function authorizer(heardElsewhere: ((cluster: string) => Promise<boolean>) | undefined, clock: () => number = () => 0): TunnelAuthorizer {
  return new TunnelAuthorizer({ inner: allow, hub: disconnected, signer, isTunnelCluster: () => true, rolesOf: () => [], clock, ...(heardElsewhere && { heardElsewhere }) });
}

test('the agent heard recently by another replica: the request is left to that replica', async () => {
  const err = await authorizer(async () => true).decide(request).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DecidedElsewhereError);
  expect(err).toMatchObject({ code: 'ERR_DECIDED_ELSEWHERE', cluster: 'edge-a' });
});

test('nobody heard the agent: a 503 that says the cluster is disconnected, as with one replica', async () => {
  for (const a of [authorizer(async () => false), authorizer(undefined), authorizer(() => Promise.reject(new Error('store down')))]) {
    const decision = await a.decide(request);
    expect(decision).toMatchObject({ allowed: false, httpStatus: 503, message: 'kubegate: cluster "edge-a" is disconnected; its agent never connected' });
  }
});

test('what the store said is asked once a second per cluster', async () => {
  let now = 0;
  let asked = 0;
  const a = authorizer(async () => {
    asked++;
    return true;
  }, () => now);
  await expect(a.decide(request)).rejects.toBeInstanceOf(DecidedElsewhereError);
  now = 999;
  await expect(a.decide(request)).rejects.toBeInstanceOf(DecidedElsewhereError);
  expect(asked).toBe(1);
  now = 1_000;
  await expect(a.decide(request)).rejects.toBeInstanceOf(DecidedElsewhereError);
  expect(asked).toBe(2);
});

test("an allow names the newest ready pod's node for the edge's tunnel pick, when the hub knows one", async () => {
  const hubWith = (node: string | undefined, leaving = false) => ({ ensureAccess: async () => 'system:serviceaccount:kubegate-users:alice', tunnelNode: () => node, onlyLeaving: () => leaving }) as unknown as AgentHub;
  const make = (hub: AgentHub) => new TunnelAuthorizer({ inner: allow, hub, signer, isTunnelCluster: () => true, rolesOf: () => [], clock: () => 0 });
  expect(await make(hubWith('edge-a.pod-2')).decide(request)).toMatchObject({ allowed: true, cluster: 'edge-a', tunnelNode: 'edge-a.pod-2' });
  expect(await make(hubWith(undefined)).decide(request)).not.toHaveProperty('tunnelNode');
});

test('a draining replica with no session of the cluster leaves the check to another replica, without asking the store', async () => {
  let asked = 0;
  let draining = false;
  const a = new TunnelAuthorizer({
    inner: allow,
    hub: disconnected,
    signer,
    isTunnelCluster: () => true,
    rolesOf: () => [],
    clock: () => 0,
    heardElsewhere: async () => {
      asked++;
      return false;
    },
    draining: () => draining,
  });
  expect(await a.decide(request)).toMatchObject({ allowed: false, httpStatus: 503 });
  expect(asked).toBe(1);
  draining = true;
  await expect(a.decide({ ...request, requestId: 'r2' })).rejects.toBeInstanceOf(DecidedElsewhereError);
  expect(asked).toBe(1);
});

test('a draining replica still decides the clusters whose agents are connected to it', async () => {
  const connected = { ensureAccess: async () => 'system:serviceaccount:kubegate-users:alice', tunnelNode: () => undefined, onlyLeaving: () => false } as unknown as AgentHub;
  const a = new TunnelAuthorizer({ inner: allow, hub: connected, signer, isTunnelCluster: () => true, rolesOf: () => [], clock: () => 0, draining: () => true });
  expect(await a.decide(request)).toMatchObject({ allowed: true, cluster: 'edge-a', upstreamAssertion: { token: 'token' } });
});

test("a replica holding only a leaving pod's agent leaves the check to the replica holding its successor", async () => {
  const leavingHub = { ensureAccess: async () => 'system:serviceaccount:kubegate-users:alice', tunnelNode: () => undefined, onlyLeaving: () => true } as unknown as AgentHub;
  const a = new TunnelAuthorizer({ inner: allow, hub: leavingHub, signer, isTunnelCluster: () => true, rolesOf: () => [], clock: () => 0 });
  await expect(a.decide(request)).rejects.toBeInstanceOf(DecidedElsewhereError);
});

test('a cluster whose agent was heard here moments ago is refused with Retry-After (it is between connections); one long gone is not', async () => {
  let lastSeen: number | undefined = 10_000;
  const hub = { ensureAccess: () => Promise.reject(new ClusterDisconnectedError('edge-a', lastSeen)), onlyLeaving: () => false, lastSeenAt: () => lastSeen } as unknown as AgentHub;
  const a = new TunnelAuthorizer({ inner: allow, hub, signer, isTunnelCluster: () => true, rolesOf: () => [], clock: () => 25_000 });
  expect(await a.decide(request)).toMatchObject({ allowed: false, httpStatus: 503, retryAfterSeconds: 1 });
  lastSeen = -10_000;
  expect(await a.decide(request)).not.toHaveProperty('retryAfterSeconds');
  lastSeen = undefined;
  expect(await a.decide(request)).not.toHaveProperty('retryAfterSeconds');
});
