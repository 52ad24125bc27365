/**
 * The control plane process's core: it owns the registered clusters and the edge's
 * certificates, turns them into xDS snapshots through the pure translator, and serves ADS,
 * ext_authz and the access-log service on one mTLS gRPC port.
 */
import type { Logger } from '../log/logger';
import type { KeyPairPem } from '../pki/certificates';
import type { EdgeCertificates, EdgeSettings, RegisteredCluster } from '../translator/input';
import { translate } from '../translator/translate';
import { Snapshot } from '../xds/snapshot';
import { SnapshotCache } from '../xds/snapshot-cache';
import { addAdsService } from '../xds/ads-server';
import { startGrpcServer } from '../xds/grpc-server';
import { startCheckServer, type CheckServerMetrics, type RunningCheckServer } from '../authz/check-server';
import type { Authorizer } from '../authz/decision';
import { CertificateAuthorizer } from '../authz/certificate-authorizer';
import { addAccessLogService } from '../accesslog/access-log-service';
import { JsonLinesSink } from '../accesslog/json-lines-sink';
import { startStatusServer, type RunningStatusServer } from './status-http';

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
  /** Decides every request; @default CertificateAuthorizer over the registered clusters. */
  readonly authorizer?: Authorizer;
  readonly logger: Logger;
}

export class ControlPlane {
  readonly cache: SnapshotCache;
  readonly accessLog: JsonLinesSink;
  private readonly registered = new Map<string, RegisteredCluster>();
  private grpc?: { port: number; stop(): Promise<void> };
  private checkServer?: RunningCheckServer;
  private statusServer?: RunningStatusServer;

  private constructor(private readonly props: ControlPlaneProps) {
    this.cache = new SnapshotCache(props.logger.child('xds'));
    this.accessLog = new JsonLinesSink(props.accessLogFile);
  }

  static async start(props: ControlPlaneProps): Promise<ControlPlane> {
    const cp = new ControlPlane(props);
    cp.publish();
    const authorizer = props.authorizer ?? new CertificateAuthorizer((name) => cp.registered.has(name));
    cp.grpc = await startGrpcServer({
      host: props.host ?? '127.0.0.1',
      port: props.port ?? 0,
      tls: { caPem: props.tls.caPem, certPem: props.tls.serving.certPem, keyPem: props.tls.serving.keyPem },
      logger: props.logger.child('grpc'),
      register: (server) => {
        addAdsService(server, cp.cache, props.logger.child('ads'));
        addAccessLogService(server, cp.accessLog, props.logger.child('accesslog'));
      },
    });
    cp.checkServer = await startCheckServer({
      host: props.host ?? '127.0.0.1',
      port: props.authzPort ?? 0,
      tls: { caPem: props.tls.caPem, certPem: props.tls.serving.certPem, keyPem: props.tls.serving.keyPem },
      authorizer,
      logger: props.logger.child('authz'),
    });
    cp.statusServer = await startStatusServer(cp, props.statusPort ?? 0);
    props.logger.info('control plane serving', { port: cp.grpc.port, statusPort: cp.statusServer.port, node: props.edge.nodeId });
    return cp;
  }

  get port(): number {
    if (!this.grpc) throw new Error('control plane is not started');
    return this.grpc.port;
  }

  get nodeId(): string {
    return this.props.edge.nodeId;
  }

  clusters(): RegisteredCluster[] {
    return [...this.registered.values()];
  }

  /** Adds or replaces a cluster; the edge sees it with its next xDS push, without a restart. */
  registerCluster(cluster: RegisteredCluster): void {
    const previous = this.registered.get(cluster.name);
    this.registered.set(cluster.name, cluster);
    try {
      this.publish();
    } catch (err) {
      // A cluster the translator refuses must not stay registered half-way.
      if (previous) this.registered.set(cluster.name, previous);
      else this.registered.delete(cluster.name);
      throw err;
    }
    this.props.logger.info('cluster registered', { cluster: cluster.name });
  }

  unregisterCluster(name: string): boolean {
    if (!this.registered.delete(name)) return false;
    this.publish();
    this.props.logger.info('cluster unregistered', { cluster: name });
    return true;
  }

  /** Translates the current state and hands the snapshot to the cache. */
  publish(): Snapshot {
    const resources = translate({
      edge: { ...this.props.edge, controlPlaneCluster: this.props.controlPlaneCluster, authzCluster: this.props.authzCluster },
      clusters: this.clusters(),
      certificates: this.props.edgeCertificates,
    });
    const snapshot = new Snapshot(resources);
    this.cache.setSnapshot(this.props.edge.nodeId, snapshot);
    return snapshot;
  }

  get authzPort(): number {
    if (!this.checkServer) throw new Error('control plane is not started');
    return this.checkServer.port;
  }

  get statusPort(): number {
    if (!this.statusServer) throw new Error('control plane is not started');
    return this.statusServer.port;
  }

  status(): object {
    return { clusters: this.clusters().map((c) => c.name).sort(), authz: this.authzMetrics(), xds: this.cache.status() };
  }

  metricsText(): string {
    const m = this.authzMetrics();
    const authz = [
      '# HELP kubegate_authz_decisions_total Authorization decisions by outcome.',
      '# TYPE kubegate_authz_decisions_total counter',
      `kubegate_authz_decisions_total{decision="allow"} ${m.allowed}`,
      `kubegate_authz_decisions_total{decision="deny"} ${m.denied}`,
      `kubegate_authz_decisions_total{decision="error"} ${m.errors}`,
    ];
    return this.cache.metricsText() + authz.join('\n') + '\n';
  }

  authzMetrics(): CheckServerMetrics {
    return { ...(this.checkServer?.metrics ?? { allowed: 0, denied: 0, errors: 0 }) };
  }

  async stop(): Promise<void> {
    await this.statusServer?.stop();
    await this.checkServer?.stop();
    await this.grpc?.stop();
    await this.accessLog.close();
  }
}
