/** The contract between the authorization check service and whatever decides. */
import type { RequestAttributes } from '../kubernetes-api/request-attributes';

export interface Identity {
  readonly user: string;
  readonly groups: readonly string[];
}

/**
 * This replica cannot decide the request, and another one can: the cluster's agent is connected
 * to another controller replica (its heartbeats reach the shared store). The check service
 * answers gRPC UNAVAILABLE, and the edge sends the check to another replica (its ext_authz
 * retry policy never picks the same one twice). Nothing is audited here; the replica that
 * decides audits the decision.
 */
export class DecidedElsewhereError extends Error {
  readonly code = 'ERR_DECIDED_ELSEWHERE';
  constructor(readonly cluster: string) {
    super(`the agent of cluster "${cluster}" is connected to another controller replica, which decides its requests`);
    this.name = 'DecidedElsewhereError';
  }
}

/** What the edge knows about a request when it asks for a decision. */
export interface AuthzRequest {
  readonly requestId: string;
  readonly method: string;
  /** Path as Envoy normalised it, including the /clusters/<name> prefix. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly sourceAddress: string;
  /** The verified client certificate (PEM); empty when none was presented. */
  readonly peerCertificatePem: string;
  /** The TLS server name the client sent; empty when none. */
  readonly serverName: string;
}

/** What audit records and access-log lines say about the decided request, beyond allow/deny. */
export interface DecisionDetail {
  /** The Kubernetes request attributes, when the request could be parsed. */
  readonly attributes?: RequestAttributes;
  /** The policy (or BreakGlassPolicy) that allowed or denied, if one did. */
  readonly policy?: string;
  /** The break-glass grant that allowed the request, if one did. */
  readonly breakGlassId?: string;
  /**
   * Epoch ms until which an allow stands if nothing changes (a window closing, a grant or a
   * session expiring): an open stream must be decided again then.
   */
  readonly validUntil?: number;
}

export type Decision =
  | ({
      readonly allowed: true;
      readonly identity: Identity;
      readonly cluster: string;
      readonly reason: string;
      /**
       * For a cluster behind a tunnel: the signed assertion the in-cluster Envoy verifies, and
       * the Kubernetes user (the user's ServiceAccount) it names. The edge then sends no
       * impersonation headers of its own.
       */
      readonly upstreamAssertion?: { readonly token: string; readonly impersonate: string };
      /**
       * For a cluster behind a tunnel: the in-cluster Envoy node whose tunnels carry this request
       * (the newest ready agent pod's), when the agents say; otherwise any of the cluster's.
       */
      readonly tunnelNode?: string;
      /**
       * The request came in on the edge's shared users' chain (no user's TLS server name:
       * `kubectl --server`, a client that overrides the host), which must be drained too when
       * this user's open streams have to close.
       */
      readonly sharedEndpoint?: true;
    } & DecisionDetail)
  | ({
      readonly allowed: false;
      /** HTTP status: 400 malformed request, 401 no or revoked identity, 403 forbidden, 404 no such cluster, 503 cannot decide. */
      readonly httpStatus: 400 | 401 | 403 | 404 | 503;
      /** Safe to show the client. */
      readonly message: string;
      /** For logs and audit only. */
      readonly reason: string;
      readonly identity?: Identity;
      readonly cluster?: string;
      /**
       * With a 503 that should pass by itself (an agent between two connections): sent as
       * Retry-After, which client-go (kubectl, controllers) honours by trying again, up to ten
       * times, for any verb; nothing reached the cluster, so that is safe.
       */
      readonly retryAfterSeconds?: number;
    } & DecisionDetail);

export interface Authorizer {
  decide(request: AuthzRequest): Decision | Promise<Decision>;
}
