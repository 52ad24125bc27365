/**
 * The control plane's three listening servers, started and stopped together: the gRPC port
 * (mTLS) with ADS, the access-log service and the self-review service; the ext_authz port
 * (mTLS, HTTP/2); and the loopback status port (/healthz, /status, /metrics). The ext_authz
 * port stops gracefully: the checks being decided are answered before it closes.
 */
import type { Logger } from '../log/logger';
import type { KeyPairPem } from '../pki/certificates';
import type { SnapshotCache } from '../xds/snapshot-cache';
import { addAdsService } from '../xds/ads-server';
import { startGrpcServer } from '../xds/grpc-server';
import { startCheckServer, type CheckServerMetrics, type RunningCheckServer } from '../authz/check-server';
import type { Authorizer, AuthzRequest, Decision } from '../authz/decision';
import type { AuthorizationView } from '../authz/authorization-view';
import { addAccessLogService, type AccessLogWriter } from '../envoy-access-log/access-log-service';
import { addSelfReviewService } from '../self-review/self-review-service';
import { startStatusServer, type RunningStatusServer, type StatusSources } from './status-http';

export interface ControlPlaneServersProps {
  readonly host: string;
  /** gRPC port; 0 picks a free one. */
  readonly port: number;
  readonly authzPort: number;
  readonly statusPort: number;
  readonly tls: { readonly caPem: string; readonly serving: KeyPairPem };
  readonly cache: SnapshotCache;
  readonly accessLog: AccessLogWriter;
  /** What self reviews are answered from. */
  readonly view: () => AuthorizationView;
  readonly authorizer: Authorizer;
  readonly status: StatusSources;
  readonly clock: () => number;
  readonly logger: Logger;
  /**
   * How long stopping the ext_authz port waits for the checks being decided (a first request
   * may wait for its ServiceAccount) before it cuts them; the edge retries a cut check on
   * another replica. @default 5000
   */
  readonly checkShutdownGraceMs?: number;
}

const DEFAULT_CHECK_SHUTDOWN_GRACE_MS = 5_000;

/** Counts the checks being decided, so a stop can let them finish. */
class InFlightChecks implements Authorizer {
  private count = 0;
  private idle: Array<() => void> = [];

  constructor(private readonly inner: Authorizer) {}

  get inFlight(): number {
    return this.count;
  }

  decide(request: AuthzRequest): Decision | Promise<Decision> {
    const decided = this.inner.decide(request);
    if (typeof (decided as Partial<PromiseLike<Decision>>).then !== 'function') return decided;
    this.count++;
    return Promise.resolve(decided).finally(() => {
      if (--this.count === 0) for (const resolve of this.idle.splice(0)) resolve();
    });
  }

  /** Resolves once no check is being decided, or after maxMs; says which. */
  async settled(maxMs: number): Promise<boolean> {
    if (this.count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.idle.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), maxMs)));
    const settled = await Promise.race([idle, late]);
    clearTimeout(timer);
    return settled;
  }
}

export class ControlPlaneServers {
  private constructor(
    private readonly grpc: { port: number; stop(): Promise<void> },
    private readonly check: RunningCheckServer,
    private readonly statusServer: RunningStatusServer,
    private readonly checks: InFlightChecks,
    private readonly props: ControlPlaneServersProps,
  ) {}

  static async start(props: ControlPlaneServersProps): Promise<ControlPlaneServers> {
    const tls = { caPem: props.tls.caPem, certPem: props.tls.serving.certPem, keyPem: props.tls.serving.keyPem };
    const grpc = await startGrpcServer({
      host: props.host,
      port: props.port,
      tls,
      logger: props.logger.child('grpc'),
      register: (server) => {
        addAdsService(server, props.cache, props.logger.child('ads'));
        addAccessLogService(server, props.accessLog, props.logger.child('accesslog'));
        addSelfReviewService(server, { view: props.view, clock: props.clock, logger: props.logger.child('self-review') });
      },
    });
    const started: Array<{ stop(): Promise<void> }> = [grpc];
    try {
      const checks = new InFlightChecks(props.authorizer);
      const check = await startCheckServer({ host: props.host, port: props.authzPort, tls, authorizer: checks, logger: props.logger.child('authz') });
      started.push(check);
      const status = await startStatusServer(props.status, props.statusPort, props.host);
      return new ControlPlaneServers(grpc, check, status, checks, props);
    } catch (err) {
      for (const server of started.reverse()) await server.stop().catch(() => undefined);
      throw err;
    }
  }

  get grpcPort(): number {
    return this.grpc.port;
  }

  get authzPort(): number {
    return this.check.port;
  }

  get statusPort(): number {
    return this.statusServer.port;
  }

  get authzMetrics(): CheckServerMetrics {
    return { ...this.check.metrics };
  }

  /**
   * The status port first (health goes away), then ext_authz once the checks being decided are
   * answered (or after the grace period); gRPC last, see stopGrpc.
   */
  async stopFront(): Promise<void> {
    await this.statusServer.stop();
    const graceMs = this.props.checkShutdownGraceMs ?? DEFAULT_CHECK_SHUTDOWN_GRACE_MS;
    const inFlight = this.checks.inFlight;
    if (!(await this.checks.settled(graceMs))) this.props.logger.warn('ext_authz checks still being decided after the grace period; cutting them (the edge retries them on another replica)', { graceMs, inFlight: this.checks.inFlight });
    else if (inFlight > 0) this.props.logger.info('ext_authz checks in flight answered before stopping', { checks: inFlight });
    await this.check.stop();
  }

  async stopGrpc(): Promise<void> {
    await this.grpc.stop();
  }
}
