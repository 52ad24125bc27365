/**
 * What the drain tests (a controller replica that stops hands its agents to the others) share:
 * control planes with an agent port over one PKI, a TCP forwarder standing in for the agent
 * Service (each new connection goes to the replica it points at now), a real ControlSession
 * as the agent (its Kubernetes side a stub that answers at once), and ext_authz checks sent
 * the way the edge sends them (to one replica, then to the other when the first leaves the
 * check to another).
 */
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ControlPlane } from '../../../control-plane/server/control-plane';
import type { DrainSettings } from '../../../control-plane/server/control-plane-props';
import type { Store } from '../../../control-plane/store/store';
import type { KubegatePki } from '../../../control-plane/pki/kubegate-pki';
import type { KeyPairPem } from '../../../control-plane/pki/certificates';
import type { Authorizer, Decision } from '../../../control-plane/authz/decision';
import { grpcService } from '../../../control-plane/proto/envoy-protos';
import { ControlSession } from '../../../agent/runtime/control-session';
import { createAgentLogger } from '../../../agent/log/agent-logger';
import type { AgentCertificate } from '../../../agent/runtime/agent-identity';
import type { ServiceAccountManager } from '../../../agent/service-accounts/service-account-manager';
import { CONTROL_PLANE_SERVER_NAME } from '../../../agent/protocol/identities';
import { agentPortProps } from './agent-port-control-plane';
import { edgelessControlPlaneProps } from '../../support/edgeless-control-plane';
import { Mailbox } from './agent-port-control-plane';

export const CLUSTER = 'edge-a';
const HOUR_MS = 3_600_000;

/** Admits alice to CLUSTER: the tunnel authorizer over it is what is tested. */
const allowAlice: Authorizer = { decide: (): Decision => ({ allowed: true, identity: { user: 'alice', groups: [] }, cluster: CLUSTER, reason: 'test' }) };

/** A control plane with an agent port whose decisions, for tunnelled clusters, need the agent. */
export function startReplica(dir: string, pki: KubegatePki, store: Store, drain: DrainSettings): Promise<ControlPlane> {
  return ControlPlane.start({
    ...edgelessControlPlaneProps(dir, pki, store),
    authorizer: allowAlice,
    drain,
    agents: agentPortProps(pki, HOUR_MS),
  });
}

/** Registers CLUSTER (before its agent's certificate is issued, so that it admits the agent). */
export async function registerCluster(store: Store): Promise<void> {
  await store.upsertCluster({ name: CLUSTER, labels: {}, kubernetesVersion: '', apiserverCaPem: '', apiserverHost: '', apiserverPort: 0, agentVersion: '', agentCertificateSerial: '', registeredAt: Date.now() - 120_000, lastSeenAt: 0 });
}

/** The agent's certificate for CLUSTER, from the agent CA. */
export function agentCertificate(pki: KubegatePki): AgentCertificate {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certPem = pki.issueAgentCertificate(CLUSTER, publicKey.export({ type: 'spki', format: 'pem' }).toString(), new Date(), HOUR_MS);
  const x509 = new crypto.X509Certificate(certPem);
  return { certPem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), notBefore: Date.parse(x509.validFrom), notAfter: Date.parse(x509.validTo) };
}

/** The agent Service: every new connection goes where `target` points when it is accepted. */
export class Forwarder {
  target = 0;
  /** Connections accepted, by the port they were sent to. */
  readonly accepted: number[] = [];
  private readonly sockets = new Set<net.Socket>();
  private constructor(private readonly server: net.Server) {}

  static async start(): Promise<Forwarder> {
    let forwarder: Forwarder | undefined;
    const server = net.createServer((socket) => forwarder!.forward(socket));
    forwarder = new Forwarder(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return forwarder;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  private forward(socket: net.Socket): void {
    this.accepted.push(this.target);
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const s of [socket, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        socket.destroy();
        upstream.destroy();
      });
    }
    socket.pipe(upstream).pipe(socket);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A ServiceAccountManager that says every account is ready at once. */
const accounts = {
  ensure: async () => ({ serviceAccount: 'alice', created: false, bindingsCreated: 0, bindingsRemoved: 0 }),
  remove: async () => undefined,
  touch: () => undefined,
  impersonationUser: (user: string) => `system:serviceaccount:kubegate-users:${user}`,
} as unknown as ServiceAccountManager;

/** The agent's session, and its log by message. */
export interface TestAgent {
  readonly session: ControlSession;
  log(msg: string): Mailbox<Record<string, unknown>>;
}

export function startAgent(pki: KubegatePki, port: number, options: { initialBackoffMs?: number } = {}): TestAgent {
  const logged = new Map<string, Mailbox<Record<string, unknown>>>();
  const log = (msg: string) => {
    let box = logged.get(msg);
    if (!box) logged.set(msg, (box = new Mailbox()));
    return box;
  };
  const identity = agentCertificate(pki);
  const session = new ControlSession({
    controlPlane: { host: '127.0.0.1', port, caPem: pki.internalCa.certPem },
    identity: () => identity,
    hello: async () => ({ cluster: CLUSTER, kubernetes_version: 'v1.34.4', apiserver_ca_pem: pki.servingCa.certPem, apiserver_host: '127.0.0.1', apiserver_port: 6443, agent_version: 'test' }),
    accounts,
    logger: createAgentLogger('agent', {
      level: 'info',
      sink: (line) => {
        const record = JSON.parse(line) as { msg: string; fields?: Record<string, unknown> };
        log(record.msg).put(record.fields ?? {});
      },
    }),
    initialBackoffMs: options.initialBackoffMs ?? 50,
    maxBackoffMs: 200,
  });
  session.start();
  return { session, log };
}

const Authorization = grpcService('envoy.service.auth.v3.Authorization');

/** What a check came to: allowed, refused (the HTTP status the edge would answer), or left to another replica. */
export type CheckOutcome = { kind: 'allowed' } | { kind: 'denied'; status: string; body: string } | { kind: 'elsewhere' } | { kind: 'error'; message: string };

/** An edge's ext_authz client toward one replica. */
export class CheckClient {
  private readonly client: grpc.Client;

  constructor(pki: KubegatePki, identity: KeyPairPem, port: number) {
    const credentials = grpc.credentials.createSsl(Buffer.from(pki.internalCa.certPem), Buffer.from(identity.keyPem), Buffer.from(identity.certPem));
    this.client = new Authorization(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME });
  }

  check(id: string): Promise<CheckOutcome> {
    const request = { attributes: { request: { http: { id, method: 'GET', path: `/clusters/${CLUSTER}/api/v1/pods` } } } };
    return new Promise((resolve) => {
      (this.client as unknown as Record<string, Function>).Check!(request, { deadline: Date.now() + 5_000 }, (err: grpc.ServiceError | null, res: { status: { code: number }; denied_response?: { status: { code: string }; body: string } }) => {
        if (err) return resolve(err.code === grpc.status.UNAVAILABLE ? { kind: 'elsewhere' } : { kind: 'error', message: err.message });
        if (res.status.code === 0) return resolve({ kind: 'allowed' });
        resolve({ kind: 'denied', status: res.denied_response?.status.code ?? '', body: res.denied_response?.body ?? '' });
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Ends when `ready` holds, or fails after `ms`. */
export async function until(what: string, ready: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const stateDir = (root: string, name: string) => path.join(root, name);
