/**
 * The pure mapping between Envoy's ext_authz messages and kubegate's decisions: a CheckRequest
 * becomes an AuthzRequest, and a Decision becomes a CheckResponse carrying either the identity
 * headers to present upstream or a Kubernetes Status refusal.
 */
import type { AuthzRequest, Decision } from './decision';
import { toStruct } from '../proto/struct-value';
import { kubernetesStatusBody } from '../kubernetes-api/status-body';
import { ASSERTION_HEADER } from '../../agent/protocol/identities';

export const GRPC_OK = 0;
export const GRPC_PERMISSION_DENIED = 7;
export const GRPC_UNAUTHENTICATED = 16;

/** Namespace of the dynamic metadata the access log receives from ext_authz. */
export const AUTHZ_METADATA_NAMESPACE = 'envoy.filters.http.ext_authz';

const STATUS_REASON: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 503: 'ServiceUnavailable' };
/** envoy.type.v3.StatusCode names; each one's number is the HTTP status itself. */
export const STATUS_CODE_NAME: Readonly<Record<number, string>> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 503: 'ServiceUnavailable' };

export type CheckRequestWire = {
  attributes?: {
    source?: { address?: { socket_address?: { address?: string } }; certificate?: string };
    request?: { http?: { id?: string; method?: string; path?: string; headers?: Record<string, string> } };
    tls_session?: { sni?: string };
  };
};

// Envoy URL-encodes the PEM it forwards, and the same certificate arrives on every request of
// a session: decoding it once per certificate instead of once per request is measurably cheaper.
const decodedCertificates = new Map<string, string>();
const DECODED_CERTIFICATES_KEPT = 10000;

function decodeCertificate(encoded: string): string {
  let pem = decodedCertificates.get(encoded);
  if (pem === undefined) {
    pem = decodeURIComponent(encoded);
    if (decodedCertificates.size >= DECODED_CERTIFICATES_KEPT) decodedCertificates.delete(decodedCertificates.keys().next().value as string);
    decodedCertificates.set(encoded, pem);
  }
  return pem;
}

export function toAuthzRequest(wire: CheckRequestWire): AuthzRequest {
  const http = wire.attributes?.request?.http ?? {};
  const cert = wire.attributes?.source?.certificate ?? '';
  return {
    requestId: http.id ?? '',
    method: http.method ?? '',
    path: http.path ?? '',
    headers: http.headers ?? {},
    sourceAddress: wire.attributes?.source?.address?.socket_address?.address ?? '',
    peerCertificatePem: cert ? decodeCertificate(cert) : '',
    serverName: wire.attributes?.tls_session?.sni ?? '',
  };
}

/** Headers that say who the user is upstream; everything identity-like the client sent goes. */
function okResponse(decision: Extract<Decision, { allowed: true }>, request: AuthzRequest): object {
  const headers: object[] = decision.upstreamAssertion
    ? [{ header: { key: ASSERTION_HEADER, value: decision.upstreamAssertion.token }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]
    : [
    { header: { key: 'impersonate-user', value: decision.identity.user }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ...decision.identity.groups.map((g) => ({ header: { key: 'impersonate-group', value: g }, append_action: 'APPEND_IF_EXISTS_OR_ADD' })),
  ];
  return { headers, headers_to_remove: headersToRemove(request) };
}

/**
 * The connection manager already removed the fixed-name identity headers; Impersonate-Extra-*
 * names are open-ended, so they are removed here, where every request header is visible.
 */
export function headersToRemove(request: AuthzRequest): string[] {
  return Object.keys(request.headers).filter((h) => h.toLowerCase().startsWith('impersonate-extra-'));
}

/** What the access log receives about the decision (AUTHZ_METADATA_NAMESPACE), in this key order. */
export function decisionMetadata(decision: Decision): Record<string, string | string[]> {
  const attrs = decision.attributes;
  return {
    user: decision.identity?.user ?? '',
    groups: [...(decision.identity?.groups ?? [])],
    cluster: decision.cluster ?? '',
    // What the edge's tunnel clusters look tunnels up by (host_id_format): a node id picks that
    // pod's tunnels, the cluster's name any of the cluster's.
    tunnel: (decision.allowed && decision.tunnelNode) || (decision.cluster ?? ''),
    decision: decision.allowed ? 'allow' : 'deny',
    reason: decision.reason,
    verb: attrs?.verb ?? '',
    apiGroup: attrs?.apiGroup ?? '',
    resource: attrs ? (attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource) : '',
    namespace: attrs?.namespace ?? '',
    name: attrs?.name ?? '',
    policy: decision.policy ?? '',
    breakGlassId: decision.breakGlassId ?? '',
  };
}

/** The Kubernetes Status body of a refusal, as kubectl prints it. */
export function deniedBody(decision: Extract<Decision, { allowed: false }>): string {
  return kubernetesStatusBody(decision.httpStatus, STATUS_REASON[decision.httpStatus] ?? 'Forbidden', decision.message);
}

/**
 * The CheckResponse as a protobufjs object: the definition of the answer. The server sends the
 * same message written directly (check-response-encoder.ts), tested byte for byte against this.
 */
export function toCheckResponse(decision: Decision, request: AuthzRequest): object {
  const metadata = toStruct(decisionMetadata(decision));
  if (decision.allowed) {
    return { status: { code: GRPC_OK }, ok_response: okResponse(decision, request), dynamic_metadata: metadata };
  }
  return {
    status: { code: decision.httpStatus === 401 ? GRPC_UNAUTHENTICATED : GRPC_PERMISSION_DENIED, message: decision.reason },
    denied_response: {
      status: { code: STATUS_CODE_NAME[decision.httpStatus] },
      headers: [
        { header: { key: 'content-type', value: 'application/json' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        ...(decision.retryAfterSeconds !== undefined ? [{ header: { key: 'retry-after', value: String(decision.retryAfterSeconds) }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] : []),
      ],
      body: deniedBody(decision),
    },
    dynamic_metadata: metadata,
  };
}
