/**
 * An in-cluster Envoy's side of the agent port's AccessLogService, for tests: a real gRPC
 * client over mTLS, with a cluster's agent certificate (as join gives it) or none, and
 * entries shaped as Envoy's gRPC access logger sends them.
 */
import * as crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { KubegatePki } from '../../../control-plane/pki/kubegate-pki';
import { grpcService } from '../../../control-plane/proto/envoy-protos';
import { grpcChannelOptions } from '../../../agent/runtime/agent-identity';

export type AccessLogClient = grpc.Client & Record<string, Function>;

/** A client of the agent port at `port`, holding `cluster`'s agent certificate, or no certificate. */
export function accessLogClient(pki: KubegatePki, port: number, cluster?: string): AccessLogClient {
  const ca = Buffer.from(pki.internalCa.certPem);
  let credentials = grpc.credentials.createSsl(ca);
  if (cluster) {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const certPem = pki.issueAgentCertificate(cluster, publicKey.export({ type: 'spki', format: 'pem' }).toString(), new Date(), 3_600_000);
    credentials = grpc.credentials.createSsl(ca, Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), Buffer.from(certPem));
  }
  const Client = grpcService('envoy.service.accesslog.v3.AccessLogService');
  return new Client(`127.0.0.1:${port}`, credentials, grpcChannelOptions()) as unknown as AccessLogClient;
}

/** Streams one StreamAccessLogsMessage and ends the stream; resolves with how the service answered. */
export function streamAccessLog(client: AccessLogClient, message: object): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const call = client.StreamAccessLogs((err: grpc.ServiceError | null) => resolve(err)) as grpc.ClientWritableStream<object>;
    call.write(message);
    call.end();
  });
}

/** An HTTPAccessLogEntry as an in-cluster Envoy logs a request it sent to kube-apiserver. */
export function clusterLogEntry(requestId: string, over: { status?: number; metadata?: object } = {}): object {
  return {
    common_properties: {
      start_time: { seconds: 1_767_258_000, nanos: 0 },
      duration: { seconds: 0, nanos: 7_000_000 },
      upstream_remote_address: { socket_address: { address: '10.96.0.1', port_value: 443 } },
      ...(over.metadata && { metadata: over.metadata }),
    },
    request: { request_id: requestId, request_method: 'GET', path: '/api/v1/namespaces' },
    response: { response_code: { value: over.status ?? 200 }, response_body_bytes: 512 },
  };
}
