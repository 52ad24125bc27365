/**
 * What a control plane is started with: its ports and identity, the edge's settings and
 * certificates, the store, and the optional audit trail and agents. One file of its own, so
 * the controller and tests that assemble these do not need the control plane's internals.
 */
import type { Logger } from '../log/logger';
import type { KeyPairPem } from '../pki/certificates';
import type { EdgeCertificates, EdgeSettings, EdgeTunnelSettings } from '../translator/input';
import type { Store } from '../store/store';
import type { Authorizer } from '../authz/decision';
import type { AgentGatewayProps } from '../agent-gateway/agent-gateway';
import type { AuditAppender } from '../audit/audit-writer';
import type { AuditLog } from '../audit/audit-log';

export interface ControlPlaneProps {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** The internal CA that every component's client certificate must chain to, and our identity. */
  readonly tls: { readonly caPem: string; readonly serving: KeyPairPem };
  /** Edge settings without the names of the bootstrap's clusters, which the bootstrap fixes. */
  readonly edge: Omit<EdgeSettings, 'controlPlaneCluster' | 'authzCluster'>;
  readonly edgeCertificates: EdgeCertificates;
  readonly controlPlaneCluster: string;
  /** The bootstrap's static cluster that reaches the ext_authz port. */
  readonly authzCluster: string;
  /** ext_authz port (mTLS, HTTP/2); 0 picks a free one. @default 0 */
  readonly authzPort?: number;
  /** JSON Lines file that receives one record per request. */
  readonly accessLogFile: string;
  /** Loopback port of the status endpoint (/healthz, /status, /metrics); 0 picks one. @default 0 */
  readonly statusPort?: number;
  /** Users, groups, certificates, policies, break-glass and sessions. */
  readonly store: Store;
  /** Decides every request. @default a PolicyAuthorizer over the access state */
  readonly authorizer?: Authorizer;
  /** Epoch ms. @default Date.now */
  readonly clock?: () => number;
  readonly logger: Logger;
  /**
   * The audit trail: every decision is made durable here before the edge hears it (a request
   * whose record cannot be written is refused), and Envoy's access log adds progress and
   * completion events. @default no audit trail (the JSON Lines access log only)
   */
  readonly audit?: {
    readonly appender: AuditAppender;
    /**
     * The edge's file access log (EdgeSettings.auditLogFile), which progress and completion
     * events are then taken from, so none is lost while the control plane is down.
     * @default none: they come from the gRPC access-log stream
     */
    readonly edgeLog?: { readonly file: string; readonly reopen?: () => Promise<void> };
    /**
     * The audit log the appender writes to, read back for the decision records of what
     * clusters' in-cluster Envoys report (their access logs arrive on the agent port): a
     * cluster's record is written only for a request the edge let through to that cluster,
     * with the decision's attributes (audit/cluster-log-events.ts).
     * @default none: in-cluster Envoys' access logs are not taken (and not recorded)
     */
    readonly log?: Pick<AuditLog, 'query'>;
  };
  /** How a stopping replica drains (ControlPlane.drain). @default DEFAULT_DRAIN_SETTINGS */
  readonly drain?: DrainSettings;
  /**
   * Clusters behind firewalls: the agent port (join, sessions, in-cluster Envoys' xDS) and the
   * edge's tunnel listener. Every cluster an agent registered is then reached over tunnels.
   * @default no agents, only directly registered clusters
   */
  readonly agents?: {
    /** The idle period of per-user ServiceAccounts comes from the policies (ClusterSettings). */
    readonly gateway: Omit<AgentGatewayProps, 'store' | 'cache' | 'markDirty' | 'logger' | 'clock' | 'idleTimeoutSeconds' | 'accessLogFlushIntervalSeconds' | 'onClusterAccessLog'>;
    readonly tunnels: EdgeTunnelSettings;
  };
}

/**
 * A replica's graceful stop (a rolling update of the hub's controller): how long it waits for
 * Kubernetes to take it out of its Services, and then for its agents to move elsewhere.
 */
export interface DrainSettings {
  /**
   * From the start of the drain (readiness off, new agent sessions refused) to asking the
   * connected agents to move: long enough for the agent Service to stop routing new
   * connections here, short enough that they move before the edge stops sending this replica
   * checks (it re-resolves the headless Service every 5 s). An agent whose new connection still
   * lands here is refused and retries after its backoff (500 ms, then 1 s, ...). @default 3000
   */
  readonly endpointsDelayMs?: number;
  /** How long it then waits for the last agent session here to close. @default 15000 */
  readonly agentsDeadlineMs?: number;
  /** How long stopping ext_authz waits for the checks being decided. @default 5000 */
  readonly checkShutdownGraceMs?: number;
}

export const DEFAULT_DRAIN_SETTINGS: Required<DrainSettings> = { endpointsDelayMs: 3_000, agentsDeadlineMs: 15_000, checkShutdownGraceMs: 5_000 };
