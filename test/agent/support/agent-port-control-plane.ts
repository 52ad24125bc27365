/**
 * A real control plane with its agent port, for tests of what travels to agents: a SQLite
 * store in a temporary directory, the PKI `kubegate dev up` makes, and no Envoy (nothing here
 * needs the edge). Policies are applied through the store, as `kubegate policy apply` does.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ControlPlane } from '../../../control-plane/server/control-plane';
import type { ControlPlaneProps } from '../../../control-plane/server/control-plane-props';
import { SqliteStore } from '../../../control-plane/store/sqlite-store';
import { loadOrCreatePki, type KubegatePki } from '../../../control-plane/pki/kubegate-pki';
import type { ControlPlaneAddress } from '../../../agent/runtime/agent-identity';
import { edgelessControlPlaneProps } from '../../support/edgeless-control-plane';

const AGENT_CERTIFICATE_LIFETIME_MS = 3_600_000;

export interface AgentPortControlPlane {
  readonly cp: ControlPlane;
  readonly store: SqliteStore;
  readonly pki: KubegatePki;
  /** Where agents dial, and the CA they verify the control plane with. */
  readonly address: ControlPlaneAddress;
  /** Replaces the policy set with these files' texts and resolves once the control plane runs on it. */
  applyPolicies(...texts: string[]): Promise<void>;
  stop(): Promise<void>;
}

export interface AgentPortControlPlaneOptions {
  /** Epoch ms. @default Date.now */
  readonly clock?: () => number;
  /** An audit trail (decisions, and what in-cluster Envoys report). @default none */
  readonly audit?: ControlPlaneProps['audit'];
}

export async function startAgentPortControlPlane(options: AgentPortControlPlaneOptions = {}): Promise<AgentPortControlPlane> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-agent-port-'));
  const pki = loadOrCreatePki({ stateDir: dir, now: new Date() });
  const store = await SqliteStore.open(path.join(dir, 'kubegate.db'));
  let cp: ControlPlane;
  try {
    cp = await ControlPlane.start({
      ...edgelessControlPlaneProps(dir, pki, store),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.audit ? { audit: options.audit } : {}),
      agents: agentPortProps(pki, AGENT_CERTIFICATE_LIFETIME_MS),
    });
  } catch (err) {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let revision = 0;
  return {
    cp,
    store,
    pki,
    address: { host: '127.0.0.1', port: cp.agents!.port, caPem: pki.internalCa.certPem },
    async applyPolicies(...texts) {
      const files = texts.map((text, i) => ({ fileName: `policies-${i}.yaml`, text }));
      revision = (await store.applyPolicySet({ files, appliedAt: Date.now(), appliedBy: 'test', expectedRevision: revision })).revision;
      await cp.refresh();
      if (cp.access.policyRevision !== revision) throw new Error(`the control plane runs policy revision ${cp.access.policyRevision}, not ${revision}`);
    },
    async stop() {
      await cp.stop();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A ClusterSettings document that sets only the idle period. */
/** The agent port of a test control plane whose edge is nowhere (tunnels point at port 2). */
export function agentPortProps(pki: KubegatePki, certificateLifetimeMs: number): NonNullable<ControlPlaneProps['agents']> {
  return {
    gateway: {
      serving: pki.controlPlane,
      internalCaPem: pki.internalCa.certPem,
      agentCaPem: pki.agentCa.certPem,
      issueAgentCertificate: (cluster, publicKeyPem, now) => pki.issueAgentCertificate(cluster, publicKeyPem, now, certificateLifetimeMs),
      assertionSigningKeyPem: pki.assertionSigningKeyPem,
      edgeTunnel: { host: '127.0.0.1', port: 2 },
    },
    tunnels: { listenAddress: '127.0.0.1', listenPort: 2, agentCaPem: pki.agentCa.certPem, identity: pki.edgeTunnel },
  };
}

export function idleTimeoutSettings(name: string, clusters: string, idle: string): string {
  return `apiVersion: kubegate.dev/v1alpha1\nkind: ClusterSettings\nmetadata: {name: ${name}}\nspec:\n  clusters: ${clusters}\n  serviceAccountIdleTimeout: ${idle}\n`;
}

/** Values delivered by a callback, taken one at a time in arrival order. */
export class Mailbox<T> {
  private readonly queued: T[] = [];
  private readonly waiting: ((value: T) => void)[] = [];

  readonly put = (value: T): void => {
    const waiter = this.waiting.shift();
    if (waiter) waiter(value);
    else this.queued.push(value);
  };

  next(): Promise<T> {
    if (this.queued.length > 0) return Promise.resolve(this.queued.shift()!);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Delivered and not yet taken. */
  get pending(): number {
    return this.queued.length;
  }
}
