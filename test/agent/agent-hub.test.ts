/**
 * AgentHub with several sessions of one cluster open at once, as during an agent upgrade (a
 * RollingUpdate with surge: two pods of the cluster, one certificate). Neither session ends the
 * other; commands go to the newest; touches, settings and refusals reach every session. The
 * agents are fakes that answer commands the way the real one does.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { AgentHub } from '../../control-plane/agent-gateway/agent-hub';
import { AgentSession, type ConnectCall } from '../../control-plane/agent-gateway/agent-session';
import { ClusterDisconnectedError } from '../../control-plane/agent-gateway/agent-errors';
import type { ClusterRecord, Store } from '../../control-plane/store/store';
import type { ControlMessage } from '../../agent/protocol/agent-protocol';
import { silentLogger } from '../../control-plane/log/logger';

const CLUSTER = 'edge-a';
const IMPERSONATE = 'system:serviceaccount:kubegate-users:alice';

/** A fake agent's end of a session: what the control plane wrote, and how the stream ended. */
class FakeCall extends EventEmitter {
  readonly written: ControlMessage[] = [];
  ended = false;
  refusedWith?: { code: number; details: string };
  /** Answers ensure and remove commands, as the agent does; off to leave them waiting. */
  answering = true;
  session?: AgentSession;

  write(message: ControlMessage): boolean {
    this.written.push(message);
    if (!this.answering) return true;
    const commandId = message.message === 'ensure' ? message.ensure.command_id : message.message === 'remove' ? message.remove.command_id : undefined;
    if (commandId) queueMicrotask(() => this.session?.result({ command_id: commandId, ok: true, ...(message.message === 'ensure' && { impersonate_user: IMPERSONATE }) }));
    return true;
  }

  end(): void {
    this.ended = true;
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error') {
      this.refusedWith = args[0] as { code: number; details: string };
      return true;
    }
    return super.emit(event, ...args);
  }

  of(kind: ControlMessage['message']): ControlMessage[] {
    return this.written.filter((m) => m.message === kind);
  }
}

let hub: AgentHub;
let changes: string[];
let nextId: number;

beforeEach(() => {
  hub = new AgentHub({ store: {} as Store, logger: silentLogger, clock: () => 1_000_000, touchIntervalMs: 3_600_000 });
  changes = [];
  hub.onSessionChange = (cluster) => changes.push(cluster);
  nextId = 0;
});

afterEach(() => hub.close());

/** A session of `cluster`, attached to the hub and welcomed, with its fake agent. */
function connect(cluster = CLUSTER, certifiedAt = 500_000): { session: AgentSession; call: FakeCall } {
  const call = new FakeCall();
  const session = new AgentSession(++nextId, cluster, { cluster }, call as unknown as ConnectCall, certifiedAt);
  call.session = session;
  hub.attach(session);
  session.welcome(28_800, 10);
  return { session, call };
}

function record(name: string, registeredAt: number, labels: Record<string, string> = {}): ClusterRecord {
  return { name, labels, kubernetesVersion: '', apiserverCaPem: '', apiserverHost: '', apiserverPort: 0, agentVersion: '', agentCertificateSerial: '', registeredAt, lastSeenAt: 0 };
}

test('a second session of a cluster leaves the first open; the cluster is listed once and the newest is its session', () => {
  const old = connect();
  const fresh = connect();
  connect('edge-b');
  expect(old.session.open).toBe(true);
  expect(old.call.ended).toBe(false);
  expect(fresh.session.open).toBe(true);
  expect(hub.session(CLUSTER)).toBe(fresh.session);
  expect(hub.connectedClusters()).toEqual([CLUSTER, 'edge-b']);
  expect(changes).toEqual([CLUSTER, CLUSTER, 'edge-b']);
});

test('commands go to the newest session only', async () => {
  const old = connect();
  const fresh = connect();
  expect(await hub.ensureAccess(CLUSTER, 'alice', [{ name: 'view' }])).toBe(IMPERSONATE);
  expect(fresh.call.of('ensure')).toHaveLength(1);
  expect(old.call.of('ensure')).toHaveLength(0);
  // Known now: the next request costs nothing.
  expect(await hub.ensureAccess(CLUSTER, 'alice', [{ name: 'view' }])).toBe(IMPERSONATE);
  expect(fresh.call.of('ensure')).toHaveLength(1);
});

test('detaching the newest falls back to the older, which is asked to prepare the user again', async () => {
  const old = connect();
  const fresh = connect();
  await hub.ensureAccess(CLUSTER, 'alice', []);
  hub.detach(fresh.session);
  expect(fresh.session.open).toBe(false);
  expect(hub.session(CLUSTER)).toBe(old.session);
  expect(hub.connectedClusters()).toEqual([CLUSTER]);
  expect(changes).toEqual([CLUSTER, CLUSTER, CLUSTER]);
  expect(await hub.ensureAccess(CLUSTER, 'alice', [])).toBe(IMPERSONATE);
  expect(old.call.of('ensure')).toHaveLength(1);
});

test('detaching the older leaves the cluster connected, and no command reaches the older afterwards', async () => {
  const old = connect();
  const fresh = connect();
  hub.detach(old.session);
  expect(old.session.open).toBe(false);
  expect(old.call.ended).toBe(true);
  expect(hub.connectedClusters()).toEqual([CLUSTER]);
  expect(hub.session(CLUSTER)).toBe(fresh.session);
  expect(await hub.ensureAccess(CLUSTER, 'alice', [{ name: 'view' }])).toBe(IMPERSONATE);
  hub.rolesChanged(() => undefined);
  await new Promise((resolve) => setImmediate(resolve));
  expect(fresh.call.of('ensure')).toHaveLength(1);
  expect(fresh.call.of('remove')).toHaveLength(1);
  expect(old.call.written.filter((m) => m.message !== 'welcome')).toEqual([]);
});

test('detaching the last session disconnects the cluster, and detaching twice changes nothing more', async () => {
  const only = connect();
  hub.detach(only.session);
  hub.detach(only.session);
  expect(hub.connectedClusters()).toEqual([]);
  expect(hub.session(CLUSTER)).toBeUndefined();
  expect(changes).toEqual([CLUSTER, CLUSTER]);
  await expect(hub.ensureAccess(CLUSTER, 'alice', [])).rejects.toBeInstanceOf(ClusterDisconnectedError);
});

test('ensureAccess after the preparing session left re-ensures on the remaining one', async () => {
  const old = connect();
  const fresh = connect();
  await hub.ensureAccess(CLUSTER, 'alice', []);
  expect(fresh.call.of('ensure')).toHaveLength(1);
  hub.detach(fresh.session);
  expect(await hub.ensureAccess(CLUSTER, 'alice', [])).toBe(IMPERSONATE);
  expect(old.call.of('ensure')).toHaveLength(1);
  expect((old.call.of('ensure')[0] as Extract<ControlMessage, { message: 'ensure' }>).ensure.access.user).toBe('alice');
});

test('a policy change after the preparing session left is carried out by the remaining one', async () => {
  const old = connect();
  const fresh = connect();
  await hub.ensureAccess(CLUSTER, 'alice', [{ name: 'view' }]);
  await hub.ensureAccess(CLUSTER, 'bob', [{ name: 'view' }]);
  hub.detach(fresh.session);
  hub.rolesChanged((_cluster, user) => (user === 'alice' ? undefined : [{ name: 'edit' }]));
  await new Promise((resolve) => setImmediate(resolve));
  expect(old.call.of('remove')).toEqual([{ message: 'remove', remove: { command_id: expect.any(String), user: 'alice' } }]);
  expect(old.call.of('ensure')).toEqual([{ message: 'ensure', ensure: { command_id: expect.any(String), access: { user: 'bob', cluster_roles: [{ cluster_role: 'edit', namespaces: [] }] } } }]);
});

test('what an older session prepared is asked of a newer one when it attaches', async () => {
  const old = connect();
  await hub.ensureAccess(CLUSTER, 'alice', []);
  const fresh = connect();
  await hub.ensureAccess(CLUSTER, 'alice', []);
  expect(old.call.of('ensure')).toHaveLength(1);
  expect(fresh.call.of('ensure')).toHaveLength(1);
});

test('a command whose session leaves while it waits is asked again of the session left', async () => {
  const old = connect();
  const fresh = connect();
  fresh.call.answering = false;
  const first = hub.ensureAccess(CLUSTER, 'alice', []);
  const second = hub.ensureAccess(CLUSTER, 'alice', []);
  expect(fresh.call.of('ensure')).toHaveLength(1); // shared in flight
  hub.detach(fresh.session);
  expect(await Promise.allSettled([first, second])).toEqual([
    { status: 'fulfilled', value: IMPERSONATE },
    { status: 'fulfilled', value: IMPERSONATE },
  ]);
  expect(old.call.of('ensure')).toHaveLength(1);
});

test('a command whose only session leaves fails with the cluster disconnected', async () => {
  const only = connect();
  only.call.answering = false;
  const waiting = hub.ensureAccess(CLUSTER, 'alice', []);
  hub.detach(only.session);
  await expect(waiting).rejects.toBeInstanceOf(ClusterDisconnectedError);
});

test('touches reach every open session of the cluster', async () => {
  const old = connect();
  const fresh = connect();
  const gone = connect();
  hub.detach(gone.session);
  await hub.ensureAccess(CLUSTER, 'alice', []);
  hub.touch(CLUSTER, 'bob');
  hub.flushTouches();
  for (const { call } of [old, fresh]) {
    expect(call.of('touch')).toEqual([{ message: 'touch', touch: { users: ['alice', 'bob'], at_ms: '1000000' } }]);
  }
  expect(gone.call.of('touch')).toEqual([]);
  // Sent once: nothing new to report at the next flush.
  hub.flushTouches();
  expect(old.call.of('touch')).toHaveLength(1);
});

test('a new idle period reaches every open session; the cluster is named once', () => {
  const old = connect();
  const fresh = connect();
  expect(hub.idleTimeoutsChanged(() => 3_600)).toEqual([CLUSTER]);
  for (const { call } of [old, fresh]) expect(call.of('settings')).toEqual([{ message: 'settings', settings: { idle_timeout_seconds: 3_600 } }]);
});

test('a deregistration refuses every session of the cluster and leaves other clusters alone', () => {
  const old = connect();
  const fresh = connect();
  const other = connect('edge-b');
  hub.followRegistrations([record('edge-b', 0)]);
  for (const { session, call } of [old, fresh]) {
    expect(session.open).toBe(false);
    expect(call.refusedWith?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(call.refusedWith?.details).toMatch(/is not registered/);
  }
  expect(other.session.open).toBe(true);
  expect(hub.connectedClusters()).toEqual(['edge-b']);
});

test('each session is judged by its own certificate: a registration younger than one certificate refuses only that session', () => {
  const old = connect(CLUSTER, 500_000);
  const fresh = connect(CLUSTER, 900_000);
  const relabelled = hub.followRegistrations([record(CLUSTER, 700_000, { env: 'prod' })]);
  expect(old.session.open).toBe(false);
  expect(old.call.refusedWith?.details).toMatch(/registered again/);
  expect(fresh.session.open).toBe(true);
  expect(fresh.session.labels).toEqual({ env: 'prod' });
  expect(relabelled).toBe(true);
  expect(hub.session(CLUSTER)).toBe(fresh.session);
});

test('close ends every session of every cluster', () => {
  const sessions = [connect(), connect(), connect('edge-b')];
  hub.close();
  expect(sessions.map(({ session }) => session.open)).toEqual([false, false, false]);
  expect(hub.connectedClusters()).toEqual([]);
});

test("the edge is pointed at the newest ready pod's tunnels, never at one leaving or not yet ready", () => {
  const older = connect();
  // Agents that say nothing of their pod: the edge picks among all of the cluster's tunnels.
  expect(hub.tunnelNode(CLUSTER)).toBeUndefined();
  older.session.podStatus = { ready: true, tunnel_node: 'edge-a.pod-1', leaving: false };
  expect(hub.tunnelNode(CLUSTER)).toBe('edge-a.pod-1');
  const newer = connect();
  // The new pod's Envoy holds no tunnel yet: requests stay on the old pod.
  newer.session.podStatus = { ready: false, tunnel_node: 'edge-a.pod-2', leaving: false };
  expect(hub.tunnelNode(CLUSTER)).toBe('edge-a.pod-1');
  newer.session.podStatus = { ready: true, tunnel_node: 'edge-a.pod-2', leaving: false };
  expect(hub.tunnelNode(CLUSTER)).toBe('edge-a.pod-2');
  // The newest leaving (a rollback, say) sends requests back to the other ready one.
  newer.session.podStatus = { ready: false, tunnel_node: 'edge-a.pod-2', leaving: true };
  expect(hub.tunnelNode(CLUSTER)).toBe('edge-a.pod-1');
  older.session.podStatus = { ready: false, tunnel_node: 'edge-a.pod-1', leaving: true };
  expect(hub.tunnelNode(CLUSTER)).toBeUndefined();
  newer.session.podStatus = { ready: true, tunnel_node: 'edge-a.pod-2', leaving: false };
  hub.detach(newer.session);
  expect(hub.tunnelNode(CLUSTER)).toBeUndefined();
  expect(hub.tunnelNode('another')).toBeUndefined();
});

test('a replica whose only agent of a cluster is leaving says so, so that the replica holding its successor decides', () => {
  const only = connect();
  expect(hub.onlyLeaving(CLUSTER)).toBe(false);
  only.session.podStatus = { ready: true, tunnel_node: 'edge-a.pod-1', leaving: false };
  expect(hub.onlyLeaving(CLUSTER)).toBe(false);
  only.session.podStatus = { ready: false, tunnel_node: 'edge-a.pod-1', leaving: true };
  expect(hub.onlyLeaving(CLUSTER)).toBe(true);
  // Its successor connected here too: this replica decides, naming the successor's tunnels.
  const next = connect();
  next.session.podStatus = { ready: true, tunnel_node: 'edge-a.pod-2', leaving: false };
  expect(hub.onlyLeaving(CLUSTER)).toBe(false);
  expect(hub.tunnelNode(CLUSTER)).toBe('edge-a.pod-2');
  expect(hub.onlyLeaving('another')).toBe(false);
});

test('a session that ends by a handover (its pod leaving, or asked to move) is remembered as such; a failure is not, and a new session clears it', () => {
  let now = 1_000_000;
  hub = new AgentHub({ store: {} as Store, logger: silentLogger, clock: () => now, touchIntervalMs: 3_600_000 });
  const failing = connect();
  hub.detach(failing.session);
  expect(hub.handedOverAt(CLUSTER)).toBeUndefined();
  const leaving = connect();
  leaving.session.podStatus = { ready: false, tunnel_node: 'edge-a.pod-1', leaving: true };
  now += 5;
  hub.detach(leaving.session);
  expect(hub.handedOverAt(CLUSTER)).toBe(1_000_005);
  const moved = connect();
  expect(hub.handedOverAt(CLUSTER)).toBeUndefined();
  expect(hub.askToReconnect('draining')).toBe(1);
  now += 5;
  hub.detach(moved.session);
  expect(hub.handedOverAt(CLUSTER)).toBe(1_000_010);
});
