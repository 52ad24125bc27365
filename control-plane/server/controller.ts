/**
 * Everything kubegate's controller runs, put together in one place: the store, the audit log
 * and its exporters and retention, the control plane (xDS, ext_authz, access logs, agents), the
 * admin API, the policy directory, and the edge certificate's rotation. The local stack runs it
 * inside its own process; `kubegate controller` (server/main.ts) runs it as a process of its
 * own, which is what a deployment runs and what crash tests kill.
 */
import * as path from 'node:path';
import type { Logger } from '../log/logger';
import type { KubegatePki } from '../pki/kubegate-pki';
import type { KeyPairPem } from '../pki/certificates';
import { ControlPlane } from './control-plane';
import { controlPlaneProps } from './controller-control-plane';
import type { DrainSettings } from './control-plane-props';
import { DEFAULT_ACCESS_LOG_FLUSH_INTERVAL_SECONDS } from '../translator/access-log';
import type { RegisteredCluster } from '../translator/input';
import { openStore } from '../store/open-store';
import { openAuditLog } from '../audit-storage/open-audit-log';
import { DEFAULT_INCOMPLETE_AGE_MS, type AuditLog, type RetentionPolicy, type RetentionResult } from '../audit/audit-log';
import type { AuditAppender } from '../audit/audit-writer';
import { AuditExporters } from '../audit-export/audit-exporters';
import { IncompleteMonitor } from '../audit/incomplete-monitor';
import type { AuditExporterConfig } from '../audit-export/audit-export-config';
import type { PolicyFileRecord, Store } from '../store/store';
import { StoreConflictError } from '../store/store';
import { loadPolicies } from '../../policies/src';
import { DEFAULT_POLICY_FILE, defaultPolicyText } from './default-policies';
import { ADMINS_GROUP } from '../api/admins';
import { DEFAULT_USER_SERVER_NAME_SUFFIX } from '../identity/user-identity';
import { startApiServer, type RunningApiServer } from '../api/api-server';
import { PolicyDirectoryWatcher } from '../policy-source/policy-directory-watcher';
import { DEFAULT_USER_CERT_TTL_MS, MAX_USER_CERT_TTL_MS } from '../credentials/user-certificate';
import { issueKubeconfig, type IssuedKubeconfig } from '../credentials/kubeconfig-issuer';
import { startAgentInstall, type AgentInstallProps, type RunningAgentInstall } from './agent-install';

export const ADMIN_USER = 'admin';
/** How often audit retention runs, and what it keeps by default. */
const RETENTION_CHECK_MS = 600_000;
export const DEFAULT_AUDIT_MAX_AGE_MS = 90 * 24 * 3600 * 1000;
/** How often the controller checks whether the edge's serving certificate is due for rotation. */
const ROTATION_CHECK_MS = 3_600_000;

/** Where the controller listens. Fixed, so a restarted controller is found where it was. */
export interface ControllerPorts {
  readonly xds: number;
  readonly authz: number;
  readonly status: number;
  /** The agent port (join, sessions, in-cluster Envoys' xDS); 0 picks a free one. */
  readonly agent: number;
  /** The edge's reverse-tunnel listener, which the control plane programs. */
  readonly tunnel: number;
  /** The admin API; 0 picks a free one. @default 0 */
  readonly api?: number;
}

export interface ControllerEdgeProps {
  readonly nodeId: string;
  /** Where the edge's user listener listens. @default '127.0.0.1' */
  readonly listenAddress?: string;
  readonly listenPort: number;
  /** The edge's URL as users reach it: written into kubeconfigs. */
  readonly url: string;
  /**
   * The edge's file access log, which completion and progress audit events are also taken
   * from, so that what the edge logged while the controller was down is not lost. Only where
   * the edge shares the controller's disk. @default none: completions arrive over gRPC only
   */
  readonly auditLogFile?: string;
  /** Has the edge open a new file access log (Envoy's /reopen_logs); used when rotating it. @default no rotation */
  reopenLogs?(): Promise<void>;
  /** How often the edge logs a request that is still open. @default 60 s */
  readonly accessLogFlushIntervalSeconds?: number;
  /** See EdgeSettings.userShards (translator/input.ts). @default 16 */
  readonly userShards?: number;
}

export interface ControllerProps {
  /** Where the controller keeps its files (access log, export positions). */
  readonly stateDir: string;
  /** sqlite:<file> or postgres://... @default sqlite:<stateDir>/kubegate.db */
  readonly storeUrl?: string;
  readonly pki: KubegatePki;
  /** Where the xDS, ext_authz, status and API ports listen. @default '127.0.0.1' */
  readonly listenAddress?: string;
  readonly ports: ControllerPorts;
  readonly edge: ControllerEdgeProps;
  /**
   * Clusters behind firewalls: where the agent port listens, and the address each cluster's
   * site reaches the edge's tunnel listener at. @default agents on loopback; sites reach the edge at 127.0.0.1
   */
  readonly agents?: {
    readonly listenAddress?: string;
    /** Every edge replica's tunnel listener as the cluster reaches it. */
    edgeTunnelsFor?(cluster: string): readonly { host: string; port: number }[] | undefined;
  };
  /** See LocalStackProps.policyDir. @default none: policies are applied through the API */
  readonly policyDir?: string;
  /** The organisation's ceiling on user certificate lifetimes (at most 24 h). @default 24 h */
  readonly maxCertTtlMs?: number;
  /** @default none */
  readonly auditExporters?: readonly AuditExporterConfig[];
  /** @default 90 days, no count or size limit */
  readonly auditRetention?: Omit<RetentionPolicy, 'now' | 'keepAfterSeq'>;
  /** One-command imports (`kubegate cluster add`): server/agent-install.ts. @default none: refused with 501 */
  readonly agentInstall?: AgentInstallProps;
  /** How a stopping replica hands its agents over (drain()). @default DEFAULT_DRAIN_SETTINGS */
  readonly drain?: DrainSettings;
  readonly logger: Logger;
}

export interface KubeconfigIssue {
  readonly user: string;
  /** @default 8 h, or the ceiling if shorter */
  readonly ttlMs?: number;
  readonly clusters?: readonly string[];
  /** See issueKubeconfig: for the operator's bootstrap credential only. @default false */
  readonly evenWithoutAccess?: boolean;
}

export class Controller {
  private apiServer?: RunningApiServer;
  private agentInstall?: RunningAgentInstall;
  private policyWatcher?: PolicyDirectoryWatcher;
  private retentionTimer?: NodeJS.Timeout;
  private rotationTimer?: NodeJS.Timeout;
  /** Clusters registered directly (not by an agent): registered again after a restart. */
  private readonly directRegistrations = new Map<string, RegisteredCluster>();
  private stopped = false;
  /** Counts allowed requests without a completion, for /metrics. */
  private readonly incomplete: IncompleteMonitor;
  /** The edge's serving certificate as last issued (rotation replaces it; a restart keeps it). */
  private edgeServing: KeyPairPem;

  private constructor(
    readonly props: ControllerProps,
    readonly store: Store,
    /** The audit log in the store's database; the admin API's /audit routes read it. */
    readonly audit: AuditLog,
    readonly exporters: AuditExporters,
    private readonly appender: AuditAppender,
    private current: ControlPlane,
  ) {
    this.edgeServing = props.pki.edgeServing;
    // A request counts as incomplete after the report's usual threshold, or two progress
    // intervals and a minute without any record if the edge logs progress less often: by then
    // an open stream would have logged progress.
    const progressSeconds = props.edge.accessLogFlushIntervalSeconds ?? DEFAULT_ACCESS_LOG_FLUSH_INTERVAL_SECONDS;
    const graceMs = Math.max(DEFAULT_INCOMPLETE_AGE_MS, (2 * progressSeconds + 60) * 1000);
    this.incomplete = new IncompleteMonitor({ audit, graceMs, logger: props.logger.child('audit') });
  }

  static async start(props: ControllerProps): Promise<Controller> {
    const logger = props.logger;
    const storeUrl = props.storeUrl ?? `sqlite:${path.join(props.stateDir, 'kubegate.db')}`;
    const store = await openStore(storeUrl);
    let audit: AuditLog | undefined;
    let controller: Controller;
    try {
      audit = await openAuditLog(storeUrl, { logger: logger.child('audit') });
      const log = audit;
      const exporters = new AuditExporters({
        config: { stateDir: path.join(props.stateDir, 'audit-export'), exporters: props.auditExporters ?? [] },
        source: { readFrom: (afterSeq, limit) => log.readFrom(afterSeq, limit), lastSeq: async () => (await log.head()).seq },
        logger: logger.child('audit-export'),
      });
      const appender: AuditAppender = {
        append: async (events) => {
          const stored = await log.append(events);
          exporters.notify();
          return stored;
        },
      };
      const controlPlane = await ControlPlane.start(controlPlaneProps(props, store, appender, log, props.pki.edgeServing));
      controller = new Controller(props, store, log, exporters, appender, controlPlane);
    } catch (err) {
      await audit?.close();
      await store.close();
      throw err;
    }
    try {
      await controller.seed();
      if (props.policyDir) {
        const watcher = new PolicyDirectoryWatcher({ dir: props.policyDir, store, refresh: () => controller.controlPlane.refresh(), logger: logger.child('policy-dir') });
        controller.policyWatcher = watcher;
        await watcher.start();
      }
      controller.addStatusSections();
      const install = props.agentInstall && (await startAgentInstall(props.agentInstall, { pki: props.pki, store, ...(props.listenAddress ? { host: props.listenAddress } : {}), logger: logger.child('install') }));
      controller.agentInstall = install || undefined;
      controller.apiServer = await startApiServer({
        ...(props.ports.api ? { port: props.ports.api } : {}),
        ...(props.listenAddress ? { host: props.listenAddress } : {}),
        tls: props.pki.apiServing,
        userCaPem: props.pki.userCa.certPem,
        store,
        audit: controller.audit,
        access: () => controller.controlPlane.access,
        refresh: () => controller.controlPlane.refresh(),
        issueKubeconfig: {
          userCa: props.pki.userCa,
          edgeUrl: props.edge.url,
          edgeCaPem: props.pki.servingCa.certPem,
          userServerNameSuffix: DEFAULT_USER_SERVER_NAME_SUFFIX,
          defaultTtlMs: Math.min(DEFAULT_USER_CERT_TTL_MS, controller.maxCertTtlMs),
          maxTtlMs: controller.maxCertTtlMs,
        },
        ...(install ? { agentInstall: install.settings } : {}),
        logger: logger.child('api'),
      });
      await controller.exporters.start();
      controller.incomplete.start();
      controller.retentionTimer = setInterval(() => void controller.applyAuditRetention(), RETENTION_CHECK_MS);
      controller.retentionTimer.unref();
      controller.rotationTimer = setInterval(() => {
        if (props.pki.edgeServingDue(new Date())) controller.rotateEdgeCertificate();
        controller.agentInstall?.renewIfDue(new Date());
      }, ROTATION_CHECK_MS);
      controller.rotationTimer.unref();
      return controller;
    } catch (err) {
      await controller.stop();
      throw err;
    }
  }

  /** The running control plane (a new object after restartControlPlane()). */
  get controlPlane(): ControlPlane {
    return this.current;
  }

  /** The admin API (users, policies, revocation, break-glass, kubeconfigs, audit). */
  get apiUrl(): string {
    if (!this.apiServer) throw new Error('the admin API is not running');
    return this.apiServer.url;
  }

  /** Where install links point (agentInstall's publicUrl, or the install listener itself); undefined without agentInstall. */
  get installUrl(): string | undefined {
    return this.agentInstall?.settings.publicUrl;
  }

  /** The organisation's ceiling on user certificate lifetimes. */
  get maxCertTtlMs(): number {
    return Math.min(this.props.maxCertTtlMs ?? MAX_USER_CERT_TTL_MS, MAX_USER_CERT_TTL_MS);
  }

  /** Registers a cluster the edge reaches directly (its apiserver address and credentials). */
  registerCluster(registration: RegisteredCluster): void {
    this.directRegistrations.set(registration.name, registration);
    this.controlPlane.registerCluster(registration);
  }

  /**
   * Stops the control plane and starts a new one on the same ports and store, as a restart of
   * the controller would. Envoys reconnect over xDS, agents start new sessions; directly
   * registered clusters are registered again.
   */
  async restartControlPlane(): Promise<void> {
    await this.current.stop();
    this.current = await ControlPlane.start(controlPlaneProps(this.props, this.store, this.appender, this.audit, this.edgeServing));
    for (const registration of this.directRegistrations.values()) this.current.registerCluster(registration);
    this.addStatusSections();
    await this.current.refresh();
  }

  private addStatusSections(): void {
    const exporters = this.exporters;
    this.current.addStatusSection('auditExport', () => exporters.status());
    this.current.addMetricsSection('auditExport', exporters.metrics);
    const watcher = this.policyWatcher;
    if (watcher) this.current.addStatusSection('policyDirectory', () => watcher.status());
    const incomplete = this.incomplete;
    this.current.addMetricsSection('auditIncomplete', incomplete.metrics);
  }

  /**
   * A new store's administrator and policies: the admin user in kubegate:admins, and the
   * default policy set if none was ever applied (and no policy directory is the source of
   * truth). What an operator changed is kept.
   */
  private async seed(): Promise<void> {
    const now = Date.now();
    const admin = await this.store.getUser(ADMIN_USER);
    if (!admin) await this.store.createUser({ name: ADMIN_USER, groups: [ADMINS_GROUP], now });
    else if (!admin.groups.includes(ADMINS_GROUP)) await this.store.setUserGroups(ADMIN_USER, [...admin.groups, ADMINS_GROUP], now);
    const policies = await this.store.getPolicySet();
    if (policies.revision === 0 && !this.props.policyDir) await this.applyPolicies([{ fileName: DEFAULT_POLICY_FILE, text: defaultPolicyText() }], 'kubegate controller');
    await this.controlPlane.refresh();
  }

  /**
   * Validates and applies a whole policy set, replacing the current one; in force at the edge
   * once this returns. A set that does not validate throws and changes nothing.
   */
  async applyPolicies(files: readonly PolicyFileRecord[], appliedBy: string): Promise<number> {
    loadPolicies(files.map((f) => ({ fileName: f.fileName, text: f.text })));
    for (;;) {
      const current = await this.store.getPolicySet();
      try {
        const applied = await this.store.applyPolicySet({ files, appliedAt: Date.now(), appliedBy, expectedRevision: current.revision });
        await this.controlPlane.refresh();
        return applied.revision;
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
      }
    }
  }

  /** Issues a kubeconfig (recorded, revocable) with a context per cluster the user may reach. */
  issueKubeconfig(req: KubeconfigIssue): Promise<IssuedKubeconfig> {
    return issueKubeconfig(
      {
        store: this.store,
        access: this.controlPlane.access,
        userCa: this.props.pki.userCa,
        edgeUrl: this.props.edge.url,
        edgeCaPem: this.props.pki.servingCa.certPem,
        userServerNameSuffix: DEFAULT_USER_SERVER_NAME_SUFFIX,
        maxTtlMs: this.maxCertTtlMs,
      },
      {
        user: req.user,
        ttlMs: req.ttlMs ?? Math.min(DEFAULT_USER_CERT_TTL_MS, this.maxCertTtlMs),
        now: new Date(),
        ...(req.clusters ? { clusters: req.clusters } : {}),
        ...(req.evenWithoutAccess ? { evenWithoutAccess: true } : {}),
      },
    );
  }

  /**
   * Issues a new serving certificate for the edge and hands it to Envoy over SDS: new
   * handshakes get it, open connections (watches, exec) carry on undisturbed. Runs by itself
   * a day before expiry; callable any time (tests, a suspected key compromise).
   */
  rotateEdgeCertificate(): string {
    const pair = this.props.pki.renewEdgeServing(new Date());
    this.edgeServing = pair;
    this.controlPlane.setEdgeServingCertificate(pair);
    this.props.logger.info('edge serving certificate rotated');
    return pair.certPem;
  }

  /**
   * Removes audit events beyond the retention policy, never one an exporter has not delivered.
   * Runs every 10 minutes; failures are logged and tried again next time.
   */
  async applyAuditRetention(now = Date.now()): Promise<RetentionResult | undefined> {
    const policy = this.props.auditRetention ?? { maxAgeMs: DEFAULT_AUDIT_MAX_AGE_MS };
    const keepAfter = this.exporters.lowWaterMark();
    try {
      const result = await this.audit.applyRetention({ ...policy, ...(Number.isFinite(keepAfter) ? { keepAfterSeq: keepAfter } : {}), now });
      if (result.removed > 0) this.props.logger.info('audit retention removed old events', { removed: result.removed, fromSeq: result.fromSeq, toSeq: result.toSeq, ...(result.remainingBytes !== undefined ? { remainingBytes: result.remainingBytes } : {}) });
      if (result.stoppedAt) this.props.logger.error('audit retention stopped at a record that does not verify', { problem: result.stoppedAt });
      return result;
    } catch (err) {
      this.props.logger.warn('audit retention failed; trying again later', { error: (err as Error).message });
      return undefined;
    }
  }

  /**
   * The graceful half of a stop (SIGTERM in a pod): the control plane drains (readiness off,
   * agents moved to the other replicas; ControlPlane.drain) while everything keeps serving.
   * stop() follows.
   */
  async drain(): Promise<void> {
    if (this.stopped) return;
    await this.current.drain();
  }

  /** Stops everything it started and closes the store; safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.rotationTimer) clearInterval(this.rotationTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.incomplete.stop();
    await this.policyWatcher?.stop();
    await this.apiServer?.close();
    await this.agentInstall?.close();
    await this.current.stop();
    await this.exporters.stop();
    await this.audit.close();
    await this.store.close();
  }
}
