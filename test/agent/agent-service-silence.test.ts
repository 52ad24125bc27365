/**
 * A cluster may hold several agent sessions at once (AgentHub), so a newer session no longer
 * ends an older one. An older stream left half-open (its agent reconnected over a new
 * connection, or vanished without closing it) must still go: the Connect handler ends a
 * session that has sent nothing for the silence period, and keeps one that keeps talking.
 * The gRPC server and streams are fakes; the hub is the real one.
 */
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { AgentHub } from '../../control-plane/agent-gateway/agent-hub';
import { addAgentService } from '../../control-plane/agent-gateway/agent-service';
import type { ConnectCall } from '../../control-plane/agent-gateway/agent-session';
import type { ClusterRecord, Store } from '../../control-plane/store/store';
import type { AgentMessage, ControlMessage } from '../../agent/protocol/agent-protocol';
import { silentLogger } from '../../control-plane/log/logger';

const CLUSTER = 'edge-a';
const SILENCE_MS = 30_000;
const record: ClusterRecord = { name: CLUSTER, labels: {}, kubernetesVersion: '', apiserverCaPem: '', apiserverHost: '', apiserverPort: 0, agentVersion: '', agentCertificateSerial: '', registeredAt: 0, lastSeenAt: 0 };
const store = {
  getCluster: async () => record,
  recordAgentHello: async (r: ClusterRecord) => r,
  touchCluster: async () => undefined,
} as unknown as Store;

/** An agent's stream as the server sees it, holding the cluster's certificate. */
class FakeStream extends EventEmitter {
  readonly written: ControlMessage[] = [];
  ended = false;
  getAuthContext() {
    return { sslPeerCertificate: { subjectaltname: `URI:kubegate://cluster/${CLUSTER}`, serialNumber: 'AB', valid_from: 'Jan  1 00:00:00 2020 GMT' } };
  }
  write(message: ControlMessage): boolean {
    this.written.push(message);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  send(message: AgentMessage): void {
    this.emit('data', message);
  }
}

let hub: AgentHub;
let connect: (call: ConnectCall) => void;

beforeEach(() => {
  jest.useFakeTimers();
  hub = new AgentHub({ store, logger: silentLogger, clock: () => Date.now() });
  const server = { addService: (_definition: unknown, handlers: { Connect: (call: ConnectCall) => void }) => (connect = handlers.Connect) } as unknown as grpc.Server;
  addAgentService(server, { store, hub, logger: silentLogger, clock: () => Date.now(), issue: () => '', idleTimeoutSeconds: () => 28_800, silenceMs: SILENCE_MS });
});

afterEach(() => {
  hub.close();
  jest.useRealTimers();
});

/** Opens a stream, says hello and waits for the welcome. */
async function helloFrom(): Promise<FakeStream> {
  const stream = new FakeStream();
  connect(stream as unknown as ConnectCall);
  stream.send({ message: 'hello', hello: { cluster: CLUSTER } });
  await jest.advanceTimersByTimeAsync(0);
  expect(stream.written.map((m) => m.message)).toEqual(['welcome']);
  return stream;
}

test('an older session that falls silent is ended; the newer one that heartbeats stays as the cluster\'s session', async () => {
  const stale = await helloFrom();
  const live = await helloFrom();
  const liveSession = hub.session(CLUSTER);
  for (let t = 0; t < 4; t++) {
    await jest.advanceTimersByTimeAsync(10_000);
    live.send({ message: 'heartbeat', heartbeat: { sent_at_ms: String(Date.now()) } });
  }
  expect(stale.ended).toBe(true);
  expect(live.ended).toBe(false);
  expect(hub.connectedClusters()).toEqual([CLUSTER]);
  expect(hub.session(CLUSTER)).toBe(liveSession);
  expect(liveSession?.open).toBe(true);
});

test('a session is kept while it talks, and ended once it has been silent for the whole period', async () => {
  const stream = await helloFrom();
  await jest.advanceTimersByTimeAsync(SILENCE_MS - 1_000);
  stream.send({ message: 'heartbeat', heartbeat: { sent_at_ms: '0' } });
  await jest.advanceTimersByTimeAsync(SILENCE_MS - 1_000);
  expect(stream.ended).toBe(false);
  expect(hub.connectedClusters()).toEqual([CLUSTER]);
  await jest.advanceTimersByTimeAsync(1_000);
  expect(stream.ended).toBe(true);
  expect(hub.connectedClusters()).toEqual([]);
});

test('a session whose stream closes leaves at once, and the other session of the cluster stays', async () => {
  const first = await helloFrom();
  const second = await helloFrom();
  const secondSession = hub.session(CLUSTER);
  second.emit('cancelled');
  expect(second.ended).toBe(true);
  expect(first.ended).toBe(false);
  expect(hub.session(CLUSTER)).not.toBe(secondSession);
  expect(hub.session(CLUSTER)?.open).toBe(true);
  expect(hub.connectedClusters()).toEqual([CLUSTER]);
});
