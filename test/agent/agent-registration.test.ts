/**
 * Why: deregistering a cluster (DELETE /clusters/NAME, `kubegate cluster remove`) must take it
 * off the edge, disconnect its agent at once, and shut that agent out for good: its hellos and
 * renewals are refused with a message its log shows, even once the name is registered again;
 * only a new join token lets an agent in, as a fresh one. The whole agent (startAgent: join,
 * session, reconnects) runs against a real kube-apiserver and a real control plane, driven
 * through the real admin API over HTTPS.
 *
 * No assertion waits for time: each awaits what the agent logs or what the API answers.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createAgentLogger } from '../../agent/log/agent-logger';
import { startAgent, type RunningAgent } from '../../agent/runtime/agent';
import { agentClient } from '../../agent/runtime/agent-identity';
import { agentRbacManifests } from '../../constructs/agent-rbac';
import { startApiServer, type RunningApiServer } from '../../control-plane/api/api-server';
import { ADMINS_GROUP } from '../../control-plane/api/admins';
import { CERTIFICATE_BACKDATE_MS } from '../../control-plane/agent-gateway/agent-registration';
import { issueUserCertificate, type IssuedUserCertificate } from '../../control-plane/credentials/user-certificate';
import { DEFAULT_USER_SERVER_NAME_SUFFIX } from '../../control-plane/identity/user-identity';
import { silentLogger } from '../../control-plane/log/logger';
import { tlsRequest } from '../support/tls-request';
import { applyManifests, rejection, startAgentTestCluster, type AgentTestCluster } from './support/agent-test-cluster';
import { Mailbox, startAgentPortControlPlane, type AgentPortControlPlane } from './support/agent-port-control-plane';

jest.setTimeout(120_000);

const HOUR_MS = 3_600_000;
const CLUSTER = 'site-dereg';
const RECONNECTING = 'session with the control plane ended; reconnecting';
const CONNECTED = 'connected to the control plane';

let kube: AgentTestCluster;
let env: AgentPortControlPlane;
let api: RunningApiServer;
let root: IssuedUserCertificate;
const agents: RunningAgent[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  kube = await startAgentTestCluster('agent-dereg');
  env = await startAgentPortControlPlane();
  await applyManifests(kube.admin, agentRbacManifests({ allowedClusterRoles: [] }));
  await env.store.createUser({ name: 'root', groups: [ADMINS_GROUP], now: Date.now() });
  await env.cp.refresh();
  root = issueUserCertificate(env.pki.userCa, { user: 'root', ttlMs: HOUR_MS, now: new Date() });
  api = await startApiServer({
    tls: env.pki.apiServing,
    userCaPem: env.pki.userCa.certPem,
    store: env.store,
    access: () => env.cp.access,
    refresh: () => env.cp.refresh(),
    issueKubeconfig: {
      userCa: env.pki.userCa,
      edgeUrl: 'https://127.0.0.1:1',
      edgeCaPem: env.pki.servingCa.certPem,
      userServerNameSuffix: DEFAULT_USER_SERVER_NAME_SUFFIX,
      defaultTtlMs: HOUR_MS,
      maxTtlMs: HOUR_MS,
    },
    logger: silentLogger,
  });
});

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  await api?.close();
  await env?.stop();
  await kube?.stop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** The admin API as root, over HTTPS with root's client certificate. */
async function call(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await tlsRequest({
    url: `${api.url}/api/v1${p}`,
    caPem: env.pki.servingCa.certPem,
    certPem: root.certPem,
    keyPem: root.keyPem,
    method,
    ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: r.status, body: JSON.parse(r.body) };
}

/** An agent's log, one mailbox per message. */
class AgentLog {
  private readonly boxes = new Map<string, Mailbox<Record<string, unknown>>>();
  readonly logger = createAgentLogger('agent', {
    level: 'info',
    sink: (line) => {
      const record = JSON.parse(line) as { msg: string; fields?: Record<string, unknown> };
      this.box(record.msg).put(record.fields ?? {});
    },
  });

  box(msg: string): Mailbox<Record<string, unknown>> {
    let box = this.boxes.get(msg);
    if (!box) this.boxes.set(msg, (box = new Mailbox()));
    return box;
  }

  /** The next time the agent logs `msg`, skipping those whose `why` does not match. */
  async next(msg: string, why?: RegExp): Promise<Record<string, unknown>> {
    for (;;) {
      const fields = await this.box(msg).next();
      if (!why || why.test(String(fields.why))) return fields;
    }
  }
}

async function joinToken(): Promise<string> {
  const r = await call('POST', `/clusters/${CLUSTER}/join-tokens`, {});
  expect(r.status).toBe(201);
  return r.body.token as string;
}

async function runAgent(token: string, log: AgentLog): Promise<RunningAgent> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-dereg-agent-'));
  dirs.push(stateDir);
  const agent = await startAgent({
    cluster: CLUSTER,
    labels: { env: 'said-by-the-agent' },
    stateDir,
    controlPlane: env.address,
    joinToken: token,
    kube: { server: kube.cluster.apiserverUrl, caPem: kube.cluster.caPem, credentials: { kind: 'client-certificate', ...kube.cluster.adminCredentials } },
    logger: log.logger,
  });
  agents.push(agent);
  return agent;
}

/** Whether the edge's published configuration has the cluster's tunnel cluster. */
const atTheEdge = () => JSON.stringify(env.cp.cache.getSnapshot('edge-0')!.resources()).includes(`"tunnel/${CLUSTER}"`);

/** Renews over mTLS with `agent`'s certificate, as its renewal timer would. */
function renew(agent: RunningAgent): Promise<unknown> {
  const client = agentClient(env.address, agent.certificate());
  const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return new Promise((resolve, reject) => {
    client.Renew!({ public_key_pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }, (err: grpc.ServiceError | null, response: unknown) => {
      client.close();
      if (err) reject(err);
      else resolve(response);
    });
  });
}

let first: RunningAgent;
const firstLog = new AgentLog();
let firstToken: string;

test('a cluster registered with PUT gets an agent with a join token; the hub keeps its labels', async () => {
  const registered = await call('PUT', `/clusters/${CLUSTER}`, { labels: { env: 'prod' } });
  expect(registered.status).toBe(201);
  expect(registered.body.cluster).toMatchObject({ connection: 'tunnel', agent: { status: 'never-connected' } });

  firstToken = await joinToken();
  first = await runAgent(firstToken, firstLog);
  await firstLog.next(CONNECTED);
  const shown = await call('GET', `/clusters/${CLUSTER}`);
  expect(shown.body.cluster).toMatchObject({ labels: { env: 'prod' }, agent: { status: 'connected', agentVersion: '0.1.0' } });
  expect(env.cp.agents!.hub.session(CLUSTER)!.labels).toEqual({ env: 'prod' });
  expect(atTheEdge()).toBe(true);
});

test('deregistered, the cluster is off the edge when DELETE answers, and its agent is disconnected and refused', async () => {
  const r = await call('DELETE', `/clusters/${CLUSTER}`);
  expect(r).toEqual({ status: 200, body: { deleted: CLUSTER } });
  expect(atTheEdge()).toBe(false);
  expect(env.cp.clusters().map((c) => c.name)).not.toContain(CLUSTER);

  // Disconnected, with the reason in its log; its reconnect is refused for the same reason.
  const notRegistered = new RegExp(`cluster "${CLUSTER}" is not registered \\(it was deregistered\\), so this agent's certificate no longer admits it`);
  await firstLog.next(RECONNECTING, notRegistered);
  expect(env.cp.agents!.hub.session(CLUSTER)).toBeUndefined();
  await firstLog.next(RECONNECTING, notRegistered);
  expect(first.session.connected).toBe(false);
  // Its hellos did not bring the cluster back, and its certificate is not renewed.
  expect(await env.store.getCluster(CLUSTER)).toBeUndefined();
  expect((await call('GET', `/clusters/${CLUSTER}`)).status).toBe(404);
  expect(await rejection(() => renew(first))).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(notRegistered) });
});

test('registered again, the old agent stays shut out; only a new join token lets a fresh agent in', async () => {
  expect((await call('PUT', `/clusters/${CLUSTER}`, { labels: { env: 'prod' } })).status).toBe(201);
  const superseded = new RegExp(`cluster "${CLUSTER}" was registered again at \\S+, after this agent's certificate was issued \\(\\S+\\), so the certificate belongs to a deregistered registration`);
  await firstLog.next(RECONNECTING, superseded);
  expect(await rejection(() => renew(first))).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(superseded) });
  expect((await call('GET', `/clusters/${CLUSTER}`)).body.cluster.agent.status).toBe('never-connected');

  // The join token minted before the deregistration went with it.
  const stale = await rejection(() => runAgent(firstToken, new AgentLog()));
  expect(String((stale as Error).message)).toMatch(/join token "[0-9a-f]+" does not exist/);

  await first.stop();
  const freshLog = new AgentLog();
  await runAgent(await joinToken(), freshLog);
  await freshLog.next(CONNECTED);
  expect((await call('GET', `/clusters/${CLUSTER}`)).body.cluster).toMatchObject({ labels: { env: 'prod' }, agent: { status: 'connected' } });
  expect(env.cp.agents!.hub.session(CLUSTER)).toBeDefined();
  await env.cp.refresh();
  expect(atTheEdge()).toBe(true);
});

test("the PKI dates an agent certificate's notBefore CERTIFICATE_BACKDATE_MS before it is issued, as admission assumes", () => {
  const at = new Date(Math.floor(Date.now() / 1000) * 1000);
  const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certPem = env.pki.issueAgentCertificate(CLUSTER, publicKey.export({ type: 'spki', format: 'pem' }).toString(), at, HOUR_MS);
  expect(Date.parse(new crypto.X509Certificate(certPem).validFrom)).toBe(at.getTime() - CERTIFICATE_BACKDATE_MS);
});
