/** The contract between the authorization check service and whatever decides. */

export interface Identity {
  readonly user: string;
  readonly groups: readonly string[];
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
}

export type Decision =
  | {
      readonly allowed: true;
      readonly identity: Identity;
      readonly cluster: string;
      readonly reason: string;
    }
  | {
      readonly allowed: false;
      /** HTTP status for the refusal: 401 no identity, 403 forbidden, 404 no such cluster. */
      readonly httpStatus: 401 | 403 | 404 | 503;
      /** Safe to show the client. */
      readonly message: string;
      /** For logs and audit only. */
      readonly reason: string;
      readonly identity?: Identity;
      readonly cluster?: string;
    };

export interface Authorizer {
  decide(request: AuthzRequest): Decision | Promise<Decision>;
}
