/**
 * The idle period of per-user ServiceAccounts travels from the policies to connected agents:
 * a real control plane (SQLite store, agent port over mTLS) and the agent's real ControlSession
 * over gRPC. The welcome carries the period of the cluster (by its name and labels); a policy
 * change that alters it reaches the agent mid-session as a `settings` message, without a
 * reconnect, and one that does not alter it sends nothing.
 *
 * Nothing here waits for time to pass: each assertion awaits the next message the agent
 * receives, and messages on the session stream arrive in order, so "nothing was sent in
 * between" shows as the next message being the later value.
 */
import * as crypto from 'node:crypto';
import { ControlSession } from '../../agent/runtime/control-session';
import type { AgentCertificate } from '../../agent/runtime/agent-identity';
import { KubeClient } from '../../agent/kubernetes/kube-client';
import { ServiceAccountManager } from '../../agent/service-accounts/service-account-manager';
import { silentAgentLogger } from '../../agent/log/agent-logger';
import { idleTimeoutSettings, Mailbox, startAgentPortControlPlane, type AgentPortControlPlane } from './support/agent-port-control-plane';

const HOUR_MS = 3_600_000;

interface ConnectedAgent {
  readonly session: ControlSession;
  /** Idle periods (ms) from each welcome. */
  readonly welcomes: Mailbox<number>;
  /** Idle periods (ms) from settings messages mid-session. */
  readonly settings: Mailbox<number>;
}

let env: AgentPortControlPlane;
const agents: ControlSession[] = [];

/**
 * The agent's own session code, with the cluster's record and a certificate from the agent CA
 * as join would give them (the record first: only a registration made before the certificate
 * was issued admits the agent).
 */
async function connectAgent(cluster: string, labels: Record<string, string>): Promise<ConnectedAgent> {
  await env.store.upsertCluster({ name: cluster, labels: {}, kubernetesVersion: '', apiserverCaPem: '', apiserverHost: '', apiserverPort: 0, agentVersion: '', agentCertificateSerial: '', registeredAt: Date.now(), lastSeenAt: 0 });
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certPem = env.pki.issueAgentCertificate(cluster, publicKey.export({ type: 'spki', format: 'pem' }).toString(), new Date(), HOUR_MS);
  const x509 = new crypto.X509Certificate(certPem);
  const identity: AgentCertificate = {
    certPem,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    notBefore: Date.parse(x509.validFrom),
    notAfter: Date.parse(x509.validTo),
  };
  // The session only calls the manager for ensure/remove/touch commands, which no test here
  // causes; it is constructed for real but its cluster is never contacted.
  const accounts = new ServiceAccountManager({
    client: new KubeClient({ server: 'https://127.0.0.1:9', caPem: env.pki.internalCa.certPem, credentials: { kind: 'token', token: 'never-used' } }),
  });
  const welcomes = new Mailbox<number>();
  const settings = new Mailbox<number>();
  const session = new ControlSession({
    controlPlane: env.address,
    identity: () => identity,
    hello: async () => ({ cluster, labels, kubernetes_version: 'v1.34.4', agent_version: 'test', managed_users: [] }),
    accounts,
    logger: silentAgentLogger,
    onWelcome: welcomes.put,
    onSettings: settings.put,
  });
  agents.push(session);
  session.start();
  return { session, welcomes, settings };
}

beforeAll(async () => {
  env = await startAgentPortControlPlane();
});

afterAll(async () => {
  for (const session of agents) session.stop();
  await env?.stop();
});

test('connected agents learn a changed idle period from the policies without reconnecting', async () => {
  const prod = await connectAgent('site-prod', { env: 'prod' });
  const dev = await connectAgent('site-dev', { env: 'dev' });

  // No ClusterSettings yet: the built-in 8 h.
  expect(await prod.welcomes.next()).toBe(8 * HOUR_MS);
  expect(await dev.welcomes.next()).toBe(8 * HOUR_MS);

  // Production (by the labels its agent reported) gets 1 h; dev is not concerned.
  await env.applyPolicies(idleTimeoutSettings('prod', '{selector: {matchLabels: {env: prod}}}', '1h'));
  expect(await prod.settings.next()).toBe(HOUR_MS);
  expect(env.cp.agents!.hub.session('site-prod')!.idleTimeoutSeconds).toBe(3600);
  expect(env.cp.agents!.hub.session('site-dev')!.idleTimeoutSeconds).toBe(8 * 3600);

  // A change that leaves production at the same period (60m is 1h) and gives dev 2 h sends
  // production nothing: the next message it receives is the one after.
  await env.applyPolicies(
    idleTimeoutSettings('prod', '{selector: {matchLabels: {env: prod}}}', '60m'),
    idleTimeoutSettings('dev', '{names: [site-dev]}', '2h'),
  );
  expect(await dev.settings.next()).toBe(2 * HOUR_MS);
  await env.applyPolicies(idleTimeoutSettings('prod', '{selector: {matchLabels: {env: prod}}}', '45m'), idleTimeoutSettings('dev', '{names: [site-dev]}', '2h'));
  expect(await prod.settings.next()).toBe(45 * 60_000);

  // Once no ClusterSettings sets a period for them, both go back to 8 h.
  await env.applyPolicies(`apiVersion: kubegate.dev/v1alpha1\nkind: ClusterSettings\nmetadata: {name: kill}\nspec:\n  clusters: {names: [elsewhere]}\n  kubectl: disabled\n`);
  expect(await prod.settings.next()).toBe(8 * HOUR_MS);
  expect(await dev.settings.next()).toBe(8 * HOUR_MS);

  // Every change arrived on the same sessions: no agent reconnected to learn it.
  expect(prod.welcomes.pending).toBe(0);
  expect(dev.welcomes.pending).toBe(0);
  expect(prod.session.connected && dev.session.connected).toBe(true);
});

test('an agent that connects after a change is welcomed with the period in force', async () => {
  await env.applyPolicies(idleTimeoutSettings('staging', '{selector: {matchLabels: {env: staging}}}', '3h'));
  const staging = await connectAgent('site-staging', { env: 'staging' });
  expect(await staging.welcomes.next()).toBe(3 * HOUR_MS);
  expect(env.cp.agents!.hub.session('site-staging')!.idleTimeoutSeconds).toBe(3 * 3600);
});
