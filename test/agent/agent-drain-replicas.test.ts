/**
 * A rolling update of the hub's controller, two replicas on one PostgreSQL: the agent is
 * connected to replica A, A drains, and the agent ends up on replica B, while ext_authz checks
 * about its cluster, sent the way the edge sends them (to one replica, and to the other when
 * the first leaves the check to another), are decided all along: not one is refused or fails.
 * The agent Service is a TCP forwarder that sends new connections to B once A has left it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ControlPlane } from '../../control-plane/server/control-plane';
import { PostgresStore } from '../../control-plane/store/postgres-store';
import { loadOrCreatePki, type KubegatePki } from '../../control-plane/pki/kubegate-pki';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';
import { CheckClient, CLUSTER, Forwarder, registerCluster, startAgent, startReplica, until, type CheckOutcome, type TestAgent } from './support/drain-harness';

const ENDPOINTS_DELAY_MS = 300;

let server: PostgresServer;
let dir: string;
let pki: KubegatePki;
let stores: PostgresStore[] = [];
let a: ControlPlane;
let b: ControlPlane;
let forwarder: Forwarder;
let agent: TestAgent | undefined;

beforeAll(async () => {
  server = await startPostgresServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-agent-drain-replicas-'));
  pki = loadOrCreatePki({ stateDir: dir, now: new Date() });
  const url = await server.createDatabase();
  stores = [await PostgresStore.open(url), await PostgresStore.open(url)];
  await registerCluster(stores[0]!);
  for (const name of ['a', 'b']) fs.mkdirSync(path.join(dir, name));
  const drain = { endpointsDelayMs: ENDPOINTS_DELAY_MS, agentsDeadlineMs: 10_000 };
  a = await startReplica(path.join(dir, 'a'), pki, stores[0]!, drain);
  b = await startReplica(path.join(dir, 'b'), pki, stores[1]!, drain);
  forwarder = await Forwarder.start();
}, 60_000);

afterAll(async () => {
  agent?.session.stop();
  await forwarder?.stop();
  for (const cp of [a, b]) await cp?.stop();
  for (const store of stores) await store.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One check as the edge makes it: to `first`, then once to the other replica if `first` leaves it. */
async function edgeCheck(clients: CheckClient[], first: number, id: string): Promise<CheckOutcome & { tries: number }> {
  const outcome = await clients[first]!.check(id);
  if (outcome.kind !== 'elsewhere') return { ...outcome, tries: 1 };
  return { ...(await clients[1 - first]!.check(`${id}-retry`)), tries: 2 };
}

test('replica A drains: its agent moves to B, and every check is decided throughout', async () => {
  forwarder.target = a.agents!.port;
  agent = startAgent(pki, forwarder.port);
  await agent.log('connected to the control plane').next();
  for (const cp of [a, b]) await cp.refresh();
  await until('A holds the session', () => a.agents!.hub.sessionCount(CLUSTER) === 1);
  expect(b.agents!.hub.openSessionCount()).toBe(0);

  const edge = pki.issueComponent('edge-test', new Date());
  const clients = [new CheckClient(pki, edge, a.authzPort), new CheckClient(pki, edge, b.authzPort)];
  const outcomes: Array<CheckOutcome & { tries: number }> = [];
  let checking = true;
  const loop = (async () => {
    for (let i = 0; checking; i++) {
      outcomes.push(await edgeCheck(clients, i % 2, `r-${i}`));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    await until('some checks decided before the drain', () => outcomes.length >= 20);
    const draining = a.drain();
    // Kubernetes takes A out of the agent Service: new connections go to B.
    await new Promise((resolve) => setTimeout(resolve, ENDPOINTS_DELAY_MS / 2));
    forwarder.target = b.agents!.port;
    await draining;
    expect(a.agents!.hub.openSessionCount()).toBe(0);
    expect(b.agents!.hub.sessionCount(CLUSTER)).toBe(1);
    const movedAt = outcomes.length;
    await until('some checks decided after the move', () => outcomes.length >= movedAt + 20);
  } finally {
    checking = false;
    await loop;
    for (const c of clients) c.close();
  }
  expect(outcomes.filter((o) => o.kind !== 'allowed')).toEqual([]);
  // Checks were left to the other replica before the move (B) and after it (A).
  expect(outcomes.some((o) => o.tries === 2)).toBe(true);
  expect(agent.session.connected).toBe(true);
  expect(agent.log('session with the control plane ended; reconnecting').pending).toBe(0);
}, 60_000);
