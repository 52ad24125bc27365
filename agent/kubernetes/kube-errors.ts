/**
 * Every way a call to kube-apiserver can fail, one class each, with a stable `code` so callers
 * branch on the kind of failure instead of parsing messages.
 *
 * Answers from the apiserver (it was reached and said no) are KubeApiError or one of its
 * subclasses and carry the HTTP status plus the Kubernetes Status `reason` and `message`.
 * Everything else (nothing answered, the certificate was wrong, it took too long, the answer
 * was not JSON, our own credentials could not be read or the client was misconfigured) has
 * its own class, because the remedy differs for each.
 */

export type KubeErrorCode =
  | 'ERR_KUBE_API'
  | 'ERR_KUBE_NOT_FOUND'
  | 'ERR_KUBE_ALREADY_EXISTS'
  | 'ERR_KUBE_CONFLICT'
  | 'ERR_KUBE_FORBIDDEN'
  | 'ERR_KUBE_UNAUTHORIZED'
  | 'ERR_KUBE_INVALID'
  | 'ERR_KUBE_CONNECTION'
  | 'ERR_KUBE_TLS'
  | 'ERR_KUBE_TIMEOUT'
  | 'ERR_KUBE_PROTOCOL'
  | 'ERR_KUBE_CREDENTIALS'
  | 'ERR_KUBE_CLIENT_CONFIG';

/** A Kubernetes `Status` object as found in error responses; every field is optional there. */
export interface KubeStatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  /** Kubernetes serializes a cause's type as `reason` (e.g. FieldValueInvalid, NamespaceTerminating). */
  readonly causes?: readonly { readonly reason?: string; readonly message?: string; readonly field?: string }[];
}

export interface KubeApiErrorProps {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The Status `reason` (NotFound, AlreadyExists, Conflict, Forbidden, ...), or '' if the body was not a Status. */
  readonly reason: string;
  /** The Status `message`, or the start of the body when it was not a Status. */
  readonly kubeMessage: string;
  readonly details?: KubeStatusDetails;
}

/** The apiserver answered with a status that is not 2xx. Subclasses name the common cases. */
export class KubeApiError extends Error {
  readonly code: KubeErrorCode = 'ERR_KUBE_API';
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly reason: string;
  readonly kubeMessage: string;
  readonly details: KubeStatusDetails | undefined;

  constructor(props: KubeApiErrorProps) {
    super(`${props.method} ${props.path}: HTTP ${props.status}${props.reason ? ` ${props.reason}` : ''}: ${props.kubeMessage || '(no message)'}`);
    this.name = 'KubeApiError';
    this.method = props.method;
    this.path = props.path;
    this.status = props.status;
    this.reason = props.reason;
    this.kubeMessage = props.kubeMessage;
    this.details = props.details;
  }
}

/** 404: the object (or, for a namespaced create, its namespace: see `details.kind`) does not exist. */
export class KubeNotFoundError extends KubeApiError {
  override readonly code = 'ERR_KUBE_NOT_FOUND';
  constructor(props: KubeApiErrorProps) {
    super(props);
    this.name = 'KubeNotFoundError';
  }
}

/** 409 AlreadyExists: a create lost to an object of the same name. */
export class KubeAlreadyExistsError extends KubeApiError {
  override readonly code = 'ERR_KUBE_ALREADY_EXISTS';
  constructor(props: KubeApiErrorProps) {
    super(props);
    this.name = 'KubeAlreadyExistsError';
  }
}

/** 409 Conflict: an update or a delete precondition named a resourceVersion or uid that is no longer current. */
export class KubeConflictError extends KubeApiError {
  override readonly code = 'ERR_KUBE_CONFLICT';
  constructor(props: KubeApiErrorProps) {
    super(props);
    this.name = 'KubeConflictError';
  }
}

/** 403: RBAC (or an admission rule such as a terminating namespace) refused the request. */
export class KubeForbiddenError extends KubeApiError {
  override readonly code = 'ERR_KUBE_FORBIDDEN';
  constructor(props: KubeApiErrorProps) {
    super(props);
    this.name = 'KubeForbiddenError';
  }
}

/** 401: the apiserver did not accept our credentials (expired or unknown token, foreign certificate). */
export class KubeUnauthorizedError extends KubeApiError {
  override readonly code = 'ERR_KUBE_UNAUTHORIZED';
  constructor(props: KubeApiErrorProps) {
    super(props);
    this.name = 'KubeUnauthorizedError';
  }
}

/** 422: the object failed validation (a bad name, a missing field). */
export class KubeInvalidError extends KubeApiError {
  override readonly code = 'ERR_KUBE_INVALID';
  constructor(props: KubeApiErrorProps) {
    super(props);
    this.name = 'KubeInvalidError';
  }
}

/** Picks the class for an error answer; 409 is split by reason since both cases share the status. */
export function kubeApiErrorFor(props: KubeApiErrorProps): KubeApiError {
  switch (props.status) {
    case 401:
      return new KubeUnauthorizedError(props);
    case 403:
      return new KubeForbiddenError(props);
    case 404:
      return new KubeNotFoundError(props);
    case 409:
      return props.reason === 'AlreadyExists' ? new KubeAlreadyExistsError(props) : new KubeConflictError(props);
    case 422:
      return new KubeInvalidError(props);
    default:
      return new KubeApiError(props);
  }
}

/** No HTTP exchange happened: refused, reset, unreachable or unresolvable. */
export class KubeConnectionError extends Error {
  readonly code = 'ERR_KUBE_CONNECTION';
  constructor(
    readonly server: string,
    /** The system error code, e.g. ECONNREFUSED. */
    readonly causeCode: string | undefined,
    detail: string,
  ) {
    super(`cannot reach kube-apiserver at ${server}: ${detail}`);
    this.name = 'KubeConnectionError';
  }
}

/**
 * The TLS handshake failed, most often because the server's certificate is not signed by the
 * configured CA or does not name the host. Never retried blindly: it means a wrong CA bundle
 * or someone in the middle.
 */
export class KubeTlsError extends Error {
  readonly code = 'ERR_KUBE_TLS';
  constructor(
    readonly server: string,
    /** OpenSSL's or Node's code, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID. */
    readonly causeCode: string | undefined,
    detail: string,
  ) {
    super(`TLS with kube-apiserver at ${server} failed: ${detail}; check the CA bundle the agent was given for this cluster`);
    this.name = 'KubeTlsError';
  }
}

/** The whole request, connecting included, took longer than the client's timeout. */
export class KubeTimeoutError extends Error {
  readonly code = 'ERR_KUBE_TIMEOUT';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(`${method} ${path}: no complete answer from kube-apiserver within ${timeoutMs} ms`);
    this.name = 'KubeTimeoutError';
  }
}

/** A 2xx answer whose body is not the JSON the API promises. */
export class KubeProtocolError extends Error {
  readonly code = 'ERR_KUBE_PROTOCOL';
  constructor(
    readonly method: string,
    readonly path: string,
    detail: string,
  ) {
    super(`${method} ${path}: unexpected answer from kube-apiserver: ${detail}`);
    this.name = 'KubeProtocolError';
  }
}

/** The client's own credentials could not be loaded (a token file missing, unreadable or empty). */
export class KubeCredentialsError extends Error {
  readonly code = 'ERR_KUBE_CREDENTIALS';
  constructor(message: string) {
    super(message);
    this.name = 'KubeCredentialsError';
  }
}

/** The props given to the client cannot work (not an https URL, no CA, a path without a leading slash). */
export class KubeClientConfigError extends Error {
  readonly code = 'ERR_KUBE_CLIENT_CONFIG';
  constructor(message: string) {
    super(`invalid Kubernetes client configuration: ${message}`);
    this.name = 'KubeClientConfigError';
  }
}

/** Any error this client raises; handy for `catch` blocks that rethrow everything else. */
export type KubeClientError =
  | KubeApiError
  | KubeConnectionError
  | KubeTlsError
  | KubeTimeoutError
  | KubeProtocolError
  | KubeCredentialsError
  | KubeClientConfigError;

export const isNotFound = (err: unknown): err is KubeNotFoundError => err instanceof KubeNotFoundError;
export const isAlreadyExists = (err: unknown): err is KubeAlreadyExistsError => err instanceof KubeAlreadyExistsError;
export const isConflict = (err: unknown): err is KubeConflictError => err instanceof KubeConflictError;
