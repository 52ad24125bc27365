/**
 * The control plane's three listening servers, started and stopped together: the gRPC port
 * (mTLS) with ADS, the access-log service and the self-review service; the ext_authz port
 * (mTLS, HTTP/2); and the loopback status port (/healthz, /status, /metrics).
 */
import type { Logger } from '../log/logger';
import type { KeyPairPem } from '../pki/certificates';
import type { SnapshotCache } from '../xds/snapshot-cache';
import { addAdsService } from '../xds/ads-server';
import { startGrpcServer } from '../xds/grpc-server';
import { startCheckServer, type CheckServerMetrics, type RunningCheckServer } from '../authz/check-server';
import type { Authorizer } from '../authz/decision';
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
}

export class ControlPlaneServers {
  private constructor(
    private readonly grpc: { port: number; stop(): Promise<void> },
    private readonly check: RunningCheckServer,
    private readonly statusServer: RunningStatusServer,
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
      const check = await startCheckServer({ host: props.host, port: props.authzPort, tls, authorizer: props.authorizer, logger: props.logger.child('authz') });
      started.push(check);
      const status = await startStatusServer(props.status, props.statusPort, props.host);
      return new ControlPlaneServers(grpc, check, status);
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

  /** The status port first (health goes away), then ext_authz; gRPC last, see stopGrpc. */
  async stopFront(): Promise<void> {
    await this.statusServer.stop();
    await this.check.stop();
  }

  async stopGrpc(): Promise<void> {
    await this.grpc.stop();
  }
}
