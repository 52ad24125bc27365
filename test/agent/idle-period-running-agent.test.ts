/**
 * The whole agent (startAgent: join, reconciliation, its session, the idle sweep) against a
 * real kube-apiserver and a real control plane: the idle period of its cluster's ClusterSettings
 * reaches the running agent without a reconnect, and a user whose ServiceAccount the agent
 * removed as idle gets it back with their next request after the period, instead of the
 * control plane impersonating an account that no longer exists.
 *
 * No assertion waits for time: the agent's log says when a message was applied, and the
 * control plane's clock is moved rather than waited for.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createAgentLogger } from '../../agent/log/agent-logger';
import { startAgent, type RunningAgent } from '../../agent/runtime/agent';
import { agentRbacManifests } from '../../constructs/agent-rbac';
import { KubeNotFoundError } from '../../agent/kubernetes/kube-errors';
import { DEFAULT_USERS_NAMESPACE, serviceAccountName } from '../../agent/service-accounts/service-account-names';
import { hashJoinSecret, newJoinToken } from '../../control-plane/agent-gateway/join-token';
import { applyManifests, rejection, startAgentTestCluster, type AgentTestCluster } from './support/agent-test-cluster';
import { idleTimeoutSettings, Mailbox, startAgentPortControlPlane, type AgentPortControlPlane } from './support/agent-port-control-plane';

const HOUR_MS = 3_600_000;
const CLUSTER = 'site-idle';

let kube: AgentTestCluster;
let env: AgentPortControlPlane;
let agent: RunningAgent;
let stateDir: string;
/** Added to the control plane's clock: how the test lets time pass there. */
let clockOffsetMs = 0;
/** The messages the agent logs, in order. */
const logged = new Map<string, Mailbox<Record<string, unknown>>>();

function logMailbox(msg: string): Mailbox<Record<string, unknown>> {
  let box = logged.get(msg);
  if (!box) logged.set(msg, (box = new Mailbox()));
  return box;
}

beforeAll(async () => {
  kube = await startAgentTestCluster('idle-agent');
  env = await startAgentPortControlPlane({ clock: () => Date.now() + clockOffsetMs });
  // The namespaces and identities an installation creates; the agent itself runs as the
  // harness admin here, since what is tested is its session, not its rights.
  await applyManifests(kube.admin, agentRbacManifests({ allowedClusterRoles: [] }));
  const join = newJoinToken();
  const now = Date.now();
  await env.store.createJoinToken({ id: join.id, cluster: CLUSTER, secretHash: hashJoinSecret(join.secret), createdAt: now, createdBy: 'test', expiresAt: now + HOUR_MS });
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-idle-agent-state-'));
  const logger = createAgentLogger('agent', {
    level: 'info',
    sink: (line) => {
      const record = JSON.parse(line) as { msg: string; fields?: Record<string, unknown> };
      logMailbox(record.msg).put(record.fields ?? {});
    },
  });
  agent = await startAgent({
    cluster: CLUSTER,
    labels: { env: 'prod' },
    stateDir,
    controlPlane: env.address,
    joinToken: join.text,
    kube: { server: kube.cluster.apiserverUrl, caPem: kube.cluster.caPem, credentials: { kind: 'client-certificate', ...kube.cluster.adminCredentials } },
    logger,
  });
  await logMailbox('connected to the control plane').next();
});

afterAll(async () => {
  await agent?.stop();
  await env?.stop();
  await kube?.stop();
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
});

test('the running agent applies a new idle period from the policies mid-session', async () => {
  expect(agent.idleTimeoutMs).toBe(8 * HOUR_MS);

  await env.applyPolicies(idleTimeoutSettings('prod', '{selector: {matchLabels: {env: prod}}}', '1h'));
  expect(await logMailbox('the control plane changed the ServiceAccount idle period').next()).toEqual({ idleTimeoutSeconds: 3600 });
  expect(agent.idleTimeoutMs).toBe(HOUR_MS);
  expect(agent.session.connected).toBe(true);
  expect(logMailbox('connected to the control plane').pending).toBe(0);
});

test('a user back after the idle period gets the ServiceAccount the agent removed meanwhile', async () => {
  const hub = env.cp.agents!.hub;
  const account = `/api/v1/namespaces/${DEFAULT_USERS_NAMESPACE}/serviceaccounts/${serviceAccountName('alice')}`;

  const impersonate = await hub.ensureAccess(CLUSTER, 'alice', []);
  expect(impersonate).toBe(agent.accounts.impersonationUser('alice'));
  await kube.admin.get(account);

  // The agent's sweep, as it runs once alice has been idle longer than the period.
  expect(await agent.accounts.removeIdle(0)).toEqual(['alice']);
  expect(await rejection(() => kube.admin.get(account))).toBeInstanceOf(KubeNotFoundError);

  // An hour later at the control plane, alice's next request must not be answered from memory.
  clockOffsetMs += HOUR_MS;
  expect(await hub.ensureAccess(CLUSTER, 'alice', [])).toBe(impersonate);
  await kube.admin.get(account);
});
