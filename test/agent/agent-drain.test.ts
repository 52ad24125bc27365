/**
 * A controller replica that stops must not fail a request, so its agents move elsewhere first.
 * Here, against a real control plane's agent port over gRPC: a draining replica refuses new
 * sessions with UNAVAILABLE and a detail that says why, and /readyz says it is draining; an
 * agent asked to reconnect opens its new session before it closes the old one (make-before-
 * break), keeps the old one while the new one fails, and never runs two reconnect loops when
 * the old one ends under it. (Two replicas on one PostgreSQL: agent-drain-replicas.test.ts.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ControlPlane } from '../../control-plane/server/control-plane';
import { SqliteStore } from '../../control-plane/store/sqlite-store';
import { loadOrCreatePki, type KubegatePki } from '../../control-plane/pki/kubegate-pki';
import { DRAINING_DETAILS } from '../../control-plane/agent-gateway/agent-service';
import { agentClient } from '../../agent/runtime/agent-identity';
import type { AgentMessage, ControlMessage } from '../../agent/protocol/agent-protocol';
import { agentCertificate, CLUSTER, Forwarder, registerCluster, startAgent, startReplica, until, type TestAgent } from './support/drain-harness';

let dir: string;
let pki: KubegatePki;
let store: SqliteStore;
let cp: ControlPlane;
let forwarder: Forwarder;
const agents: TestAgent[] = [];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-agent-drain-'));
  pki = loadOrCreatePki({ stateDir: dir, now: new Date() });
  store = await SqliteStore.open(path.join(dir, 'kubegate.db'));
  await registerCluster(store);
  cp = await startReplica(dir, pki, store, { endpointsDelayMs: 10, agentsDeadlineMs: 1_000 });
  forwarder = await Forwarder.start();
  forwarder.target = cp.agents!.port;
}, 30_000);

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.session.stop();
  await forwarder.stop();
  await cp.stop();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function agent(): TestAgent {
  const a = startAgent(pki, forwarder.port);
  agents.push(a);
  return a;
}

test('a draining replica: /readyz says so, and a new session is refused with UNAVAILABLE and why', async () => {
  await cp.drain();
  const readyz = await fetch(`http://127.0.0.1:${cp.statusPort}/readyz`);
  expect(readyz.status).toBe(503);
  expect(await readyz.text()).toBe('not ready: draining: this replica is stopping, and its agents are moving to the other replicas\n');

  const client = agentClient({ host: '127.0.0.1', port: cp.agents!.port, caPem: pki.internalCa.certPem }, agentCertificate(pki));
  try {
    const call = (client as unknown as { Connect(): grpc.ClientDuplexStream<AgentMessage, ControlMessage> }).Connect();
    const refused = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    call.on('data', () => undefined);
    call.write({ message: 'hello', hello: { cluster: CLUSTER } });
    const err = await refused;
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe(DRAINING_DETAILS);
  } finally {
    client.close();
  }
  expect(cp.agents!.hub.openSessionCount()).toBe(0);
});

test('asked to reconnect, the agent opens its new session first and closes the old one only once the new one is welcomed', async () => {
  const a = agent();
  await a.log('connected to the control plane').next();
  const hub = cp.agents!.hub;
  const old = hub.session(CLUSTER)!;
  a.session.sendStatus({ ready: true, tunnel_node: 'edge-a.pod-1', leaving: false });
  await until('the replica has the pod status', () => old.podStatus?.ready === true);

  expect(hub.askToReconnect('test')).toBe(1);
  expect(await a.log('the control plane asked to move to another replica; opening a new session before closing this one').next()).toEqual({ reason: 'test' });
  await a.log('connected to the control plane').next();
  await a.log('closed the previous session with the control plane: the new one serves').next();
  await until('the old session is gone', () => hub.sessionCount(CLUSTER) === 1 && !old.open);
  const replacement = hub.session(CLUSTER)!;
  expect(replacement.id).not.toBe(old.id);
  expect(a.session.connected).toBe(true);
  // The latest pod status travels on every new session.
  await until('the new session has the pod status', () => replacement.podStatus?.tunnel_node === 'edge-a.pod-1');
  // Each session on its own connection, so the Service could route it to another replica.
  expect(forwarder.accepted).toHaveLength(2);
  // The old session's end started no reconnect of its own.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(a.log('session with the control plane ended; reconnecting').pending).toBe(0);
  expect(forwarder.accepted).toHaveLength(2);
  expect(hub.openSessionCount()).toBe(1);
  expect(hub.session(CLUSTER)).toBe(replacement);
});

test('the new session fails: the old one keeps serving while the agent retries, and one loop only when the old one then ends', async () => {
  const a = agent();
  await a.log('connected to the control plane').next();
  const hub = cp.agents!.hub;
  const old = hub.session(CLUSTER)!;

  // Nothing listens where the Service now sends new connections.
  forwarder.target = 1;
  hub.askToReconnect('test');
  await a.log('the control plane asked to move to another replica; opening a new session before closing this one').next();
  const failed = await a.log('session with the control plane ended; reconnecting; the current session stays meanwhile').next();
  expect(failed).toMatchObject({ inMs: expect.any(Number) });
  expect(old.open).toBe(true);
  expect(a.session.connected).toBe(true);
  // Commands still reach the agent over the old session.
  expect(await hub.ensureAccess(CLUSTER, 'alice', [])).toBe('system:serviceaccount:kubegate-users:alice');

  // The control plane ends the old session while the agent is still trying: no second loop.
  hub.detach(old);
  await a.log('session with the control plane ended while a new one is being opened').next();
  expect(a.session.connected).toBe(false);
  const attemptsBefore = forwarder.accepted.length;
  forwarder.target = cp.agents!.port;
  await a.log('connected to the control plane').next();
  await until('one session', () => hub.openSessionCount() === 1);
  await new Promise((resolve) => setTimeout(resolve, 500));
  // Exactly one connection reached the replica after it came back, and one session is open.
  expect(forwarder.accepted.slice(attemptsBefore).filter((port) => port === cp.agents!.port)).toHaveLength(1);
  expect(hub.openSessionCount()).toBe(1);
  expect(a.log('connected to the control plane').pending).toBe(0);
});
