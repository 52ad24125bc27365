/**
 * The control plane's one gRPC port (ADS, ext_authz, access logs), mTLS only: a client must
 * present a certificate that chains to the internal CA before any service sees a byte of its
 * requests. There is deliberately no plaintext option.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/logger';

export interface GrpcServerProps {
  /** Address to bind, e.g. '127.0.0.1' or '::'. */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly tls: {
    /** Client certificates must chain to this CA. */
    readonly caPem: string;
    /** The server's own certificate and key. */
    readonly certPem: string;
    readonly keyPem: string;
    /**
     * 'optional': the handshake succeeds without a client certificate, and services check the
     * verified peer themselves (the agent port, where a joining agent has none yet). A
     * certificate that is presented must still chain to caPem to count.
     * @default 'required'
     */
    readonly clientCertificate?: 'required' | 'optional';
  };
  readonly logger: Logger;
  /** Adds the services; called once, before the port is bound. */
  readonly register: (server: grpc.Server) => void;
  /**
   * How long stop() lets open calls finish before cutting them. ADS and access-log streams
   * never finish on their own, so this is normally what a stop with Envoy connected costs;
   * the unary calls these ports serve (an agent's join) take milliseconds, so half a second is
   * ample, and a controller restart is not held up for longer than it needs.
   * @default 500
   */
  readonly shutdownGraceMs?: number;
}

export interface RunningGrpcServer {
  /** The bound port (the chosen one when props.port was 0). */
  readonly port: number;
  /** Graceful stop: no new calls, open ones get shutdownGraceMs, then they are cut. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_SHUTDOWN_GRACE_MS = 500;

/**
 * ADS streams live as long as Envoy does and are quiet between configuration changes, so the
 * server pings to notice an Envoy that vanished without closing its connection (host gone,
 * network partition) and to keep NATs and proxies from dropping an idle connection. Connection
 * age is unlimited: recycling a connection would restart every stream on it for nothing.
 */
const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
};

export async function startGrpcServer(props: GrpcServerProps): Promise<RunningGrpcServer> {
  const { logger } = props;
  const credentials =
    props.tls.clientCertificate === 'optional'
      ? optionalClientCertificateCredentials(props.tls)
      : grpc.ServerCredentials.createSsl(
          Buffer.from(props.tls.caPem),
          [{ cert_chain: Buffer.from(props.tls.certPem), private_key: Buffer.from(props.tls.keyPem) }],
          // checkClientCertificate: the TLS handshake fails without a client certificate from the CA.
          true,
        );
  const server = new grpc.Server(SERVER_OPTIONS);
  props.register(server);
  const host = props.host.includes(':') && !props.host.startsWith('[') ? `[${props.host}]` : props.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${props.port}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
  }).catch((err: Error) => {
    server.forceShutdown();
    throw new Error(`could not bind the gRPC port ${host}:${props.port}: ${err.message}`);
  });
  logger.info('gRPC server listening (mTLS)', { address: `${host}:${port}` });

  const grace = props.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        logger.warn('gRPC calls still open after the grace period; cutting them', { grace_ms: grace });
        server.forceShutdown();
        resolve();
      }, grace);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    }).then(() => logger.info('gRPC server stopped', { port }));
    return stopping;
  };
  return { port, stop };
}

/**
 * TLS that asks for a client certificate without requiring one. createSsl cannot express this
 * (it either requires a certificate or never asks for one), and grpc-js's certificate-provider
 * credentials bind before their first update and then fail every handshake. So the credentials
 * are createSsl's with one server option changed: the certificate is still requested and
 * verified against the CA, a failed or missing one just does not abort the handshake. Only a
 * verified certificate shows up in a call's auth context (grpc-js checks socket.authorized).
 */
function optionalClientCertificateCredentials(tls: GrpcServerProps['tls']): grpc.ServerCredentials {
  const credentials = grpc.ServerCredentials.createSsl(Buffer.from(tls.caPem), [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }], true);
  const options = (credentials as unknown as { serverConstructorOptions?: Record<string, unknown> }).serverConstructorOptions;
  if (!options || options.requestCert !== true) throw new Error('this grpc-js version keeps its TLS server options elsewhere; optional client certificates need updating');
  options.rejectUnauthorized = false;
  return credentials;
}
