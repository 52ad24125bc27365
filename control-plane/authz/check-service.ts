/**
 * Envoy's ext_authz gRPC service (envoy.service.auth.v3.Authorization/Check). It turns Envoy's
 * CheckRequest into an AuthzRequest, asks the Authorizer, and answers with either the identity
 * headers to present upstream or a Kubernetes Status refusal.
 */
import * as grpc from '@grpc/grpc-js';
import { grpcService } from '../proto/envoy-protos';
import type { Logger } from '../log/logger';
import type { AuthzRequest, Authorizer, Decision } from './decision';
import { toStruct } from './struct-value';
import { kubernetesStatusBody } from '../translator/status-body';

const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;

/** Namespace of the dynamic metadata the access log receives from ext_authz. */
export const AUTHZ_METADATA_NAMESPACE = 'envoy.filters.http.ext_authz';

const STATUS_REASON: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 503: 'ServiceUnavailable' };
const STATUS_CODE_NAME: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 503: 'ServiceUnavailable' };

export interface CheckServiceMetrics {
  allowed: number;
  denied: number;
  errors: number;
}

type CheckRequestWire = {
  attributes?: {
    source?: { address?: { socket_address?: { address?: string } }; certificate?: string };
    request?: { http?: { id?: string; method?: string; path?: string; headers?: Record<string, string> } };
  };
};

export function toAuthzRequest(wire: CheckRequestWire): AuthzRequest {
  const http = wire.attributes?.request?.http ?? {};
  const cert = wire.attributes?.source?.certificate ?? '';
  return {
    requestId: http.id ?? '',
    method: http.method ?? '',
    path: http.path ?? '',
    headers: http.headers ?? {},
    sourceAddress: wire.attributes?.source?.address?.socket_address?.address ?? '',
    // Envoy URL-encodes the PEM it forwards.
    peerCertificatePem: cert ? decodeURIComponent(cert) : '',
  };
}

/** Headers that say who the user is upstream; everything identity-like the client sent goes. */
function okResponse(decision: Extract<Decision, { allowed: true }>, request: AuthzRequest): object {
  const headers: object[] = [
    { header: { key: 'impersonate-user', value: decision.identity.user }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ...decision.identity.groups.map((g) => ({ header: { key: 'impersonate-group', value: g }, append_action: 'APPEND_IF_EXISTS_OR_ADD' })),
  ];
  // The connection manager already removed the fixed-name identity headers; Impersonate-Extra-*
  // names are open-ended, so they are removed here, where every request header is visible.
  const headersToRemove = Object.keys(request.headers).filter((h) => h.toLowerCase().startsWith('impersonate-extra-'));
  return { headers, headers_to_remove: headersToRemove };
}

export function toCheckResponse(decision: Decision, request: AuthzRequest): object {
  const metadata = toStruct({
    user: decision.identity?.user ?? '',
    groups: [...(decision.identity?.groups ?? [])],
    cluster: decision.cluster ?? '',
    decision: decision.allowed ? 'allow' : 'deny',
    reason: decision.reason,
  });
  if (decision.allowed) {
    return { status: { code: GRPC_OK }, ok_response: okResponse(decision, request), dynamic_metadata: metadata };
  }
  return {
    status: { code: decision.httpStatus === 401 ? GRPC_UNAUTHENTICATED : GRPC_PERMISSION_DENIED, message: decision.reason },
    denied_response: {
      status: { code: STATUS_CODE_NAME[decision.httpStatus] },
      headers: [{ header: { key: 'content-type', value: 'application/json' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      body: kubernetesStatusBody(decision.httpStatus, STATUS_REASON[decision.httpStatus] ?? 'Forbidden', decision.message),
    },
    dynamic_metadata: metadata,
  };
}

export function addCheckService(server: grpc.Server, authorizer: Authorizer, logger: Logger): CheckServiceMetrics {
  const metrics: CheckServiceMetrics = { allowed: 0, denied: 0, errors: 0 };
  const service = grpcService('envoy.service.auth.v3.Authorization').service;
  server.addService(service, {
    Check: (call: grpc.ServerUnaryCall<CheckRequestWire, object>, callback: grpc.sendUnaryData<object>) => {
      const request = toAuthzRequest(call.request);
      Promise.resolve()
        .then(() => authorizer.decide(request))
        .then((decision) => {
          if (decision.allowed) metrics.allowed++;
          else {
            metrics.denied++;
            logger.info('request denied', { requestId: request.requestId, user: decision.identity?.user, cluster: decision.cluster, reason: decision.reason });
          }
          callback(null, toCheckResponse(decision, request));
        })
        .catch((err: Error) => {
          // Answering with an error makes Envoy fail closed (status_on_error), never open.
          metrics.errors++;
          logger.error('authorization failed', { requestId: request.requestId, error: err.message });
          callback({ code: grpc.status.INTERNAL, details: 'kubegate authorization error' });
        });
    },
  });
  return metrics;
}
