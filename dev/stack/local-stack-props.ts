/**
 * What a local stack is started with (clusters, store, policies, edge and audit settings) and
 * what a kubeconfig request to it may say. The options are the stack's whole surface for the
 * dev CLI, the tests and the benchmarks, so they read better apart from how the stack runs.
 */
import type { AuditExporterConfig } from '../../control-plane/audit-export/audit-export-config';
import type { XdsProtocol } from '../../control-plane/envoy/bootstrap';
import type { Logger } from '../../control-plane/log/logger';
import type { KwokPodIoProps } from '../local-cluster/kwok';
import type { LocalClusterControlPlane } from '../local-cluster/local-cluster-props';
import type { Toolchain } from '../toolchain/tools';
import type { TunnelSiteIsolation } from './tunnel-site';
import type { LocalAgentInstallOptions } from './local-agent-install';

/** A local cluster to start, with the labels policies select it by. */
export interface LocalClusterSpec {
  readonly name: string;
  /** @default { env: 'dev' } */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Direct clusters: which components run, 'apiserver-only' or 'full' (kube-scheduler,
   * kube-controller-manager and a kwok node, as tunnel clusters always have; `dev up --direct`
   * asks for it). @default 'apiserver-only'
   */
  readonly controlPlane?: LocalClusterControlPlane;
  /** What the kwok node's exec, logs and port-forward use: tunnel clusters, and direct ones with controlPlane 'full'. @default kwok's defaults */
  readonly podIo?: KwokPodIoProps;
}

export interface LocalStackProps {
  readonly stateDir: string;
  /** The local clusters to start, by name or with labels. @default ['dev'] */
  readonly clusters?: readonly (string | LocalClusterSpec)[];
  /**
   * Where users, policies and grants live: sqlite:<file> or postgres://...
   * @default sqlite:<stateDir>/kubegate.db
   */
  readonly storeUrl?: string;
  /**
   * Keep the policy set equal to the YAML files in this directory (GitOps). When set, the
   * default policies are not seeded: the directory is the source of truth.
   * @default none
   */
  readonly policyDir?: string;
  /**
   * The organisation's ceiling on user certificate lifetimes (at most 24 h).
   * @default 24 h
   */
  readonly maxCertTtlMs?: number;
  /** Edge HTTPS port; 0 picks a free one. @default 0 */
  readonly edgePort?: number;
  /**
   * Clusters reached the way clusters behind a firewall are: each runs an agent and an
   * in-cluster Envoy that dial out to the control plane's agent port and the edge's tunnel
   * listener. @default []
   */
  readonly tunnelClusters?: readonly (string | LocalClusterSpec)[];
  /**
   * How tunnel clusters are kept apart from the edge: each in a firewalled network namespace
   * that nothing can connect into (needs root), or on the host's loopback ('none', for
   * benchmarks that compare with a direct baseline). @default 'network-namespace'
   */
  readonly tunnelIsolation?: TunnelSiteIsolation;
  /** Where the audit trail is exported (JSON Lines files, webhooks); see control-plane/audit-export. @default none */
  readonly auditExporters?: readonly AuditExporterConfig[];
  /**
   * How long audit events are kept, and how many at most; applied every 10 minutes, never to
   * what an exporter has not delivered yet. @default 90 days, no count limit
   */
  readonly auditRetention?: { readonly maxAgeMs?: number; readonly maxRecords?: number; readonly maxBytes?: number };
  /** How often the edge logs a request that is still open (watch, exec). @default 60 s */
  readonly accessLogFlushIntervalSeconds?: number;
  /** See EdgeSettings.userShards (translator/input.ts). @default 16 */
  readonly edgeUserShards?: number;
  /** The edge Envoy's ADS variant (BootstrapProps.xdsProtocol). @default 'delta' */
  readonly edgeXdsProtocol?: XdsProtocol;
  /**
   * `kubegate cluster add` on this stack (local-agent-install.ts); false turns it off.
   * @default on: agents reach the agent port on loopback, images from `kubegate dev images`
   */
  readonly agentInstall?: LocalAgentInstallOptions | false;
  readonly logger: Logger;
  /** @default loadToolchain() */
  readonly toolchain?: Toolchain;
}

export interface KubeconfigRequest {
  readonly user: string;
  /** @default 8 h */
  readonly ttlMs?: number;
  /** Only these clusters. @default every cluster the user may reach with kubectl */
  readonly clusters?: readonly string[];
  /** See issueKubeconfig: for the operator's bootstrap credential only. @default false */
  readonly evenWithoutAccess?: boolean;
  /** Where to write it. @default <stateDir>/kubeconfigs/<user>.kubeconfig */
  readonly file?: string;
}
