/**
 * The admin API's errors. Every failure leaves the server as JSON `{code, message}` with the
 * HTTP status that says what kind of failure it is, so the CLI and the web console can show the
 * message as-is and branch on the code. Codes are stable; messages may be improved.
 */
import { StoreConflictError, StoreError, StoreNotFoundError, StoreUnavailableError } from '../store/store';
import { PolicyValidationError, type PolicyError } from '../../policies/src';
import { CredentialRequestError } from '../credentials/user-certificate';
import { DurationError } from '../config/duration';

/** One policy problem as the API reports it: where, which rule, what to change. */
export interface ApiPolicyError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly code: string;
  readonly message: string;
}

/** The body of every error response. */
export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
  /** The request field that is wrong (400), e.g. `groups[1]`. */
  readonly field?: string;
  /** Every policy error (422). */
  readonly errors?: readonly ApiPolicyError[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { readonly field?: string; readonly errors?: readonly ApiPolicyError[]; readonly headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ApiErrorBody {
    return {
      code: this.code,
      message: this.message,
      ...(this.extra.field !== undefined ? { field: this.extra.field } : {}),
      ...(this.extra.errors !== undefined ? { errors: this.extra.errors } : {}),
    };
  }
}

/** 400: a field of the request is missing or malformed; the message names it. */
export const badRequest = (field: string, message: string) => new ApiError(400, 'ERR_BAD_REQUEST', message, { field });
/** 401: no usable identity (unknown, disabled or revoked caller). */
export const unauthenticated = (message: string) => new ApiError(401, 'ERR_UNAUTHENTICATED', message);
/** 403: the caller is known but may not do this. */
export const forbidden = (message: string) => new ApiError(403, 'ERR_FORBIDDEN', message);
export const notFound = (message: string) => new ApiError(404, 'ERR_NOT_FOUND', message);
/** 409: the request conflicts with the current state (exists already, stale revision, wrong state). */
export const conflict = (message: string) => new ApiError(409, 'ERR_CONFLICT', message);

export function toApiPolicyError(e: PolicyError): ApiPolicyError {
  return { file: e.file, line: e.line, column: e.column, path: e.path, code: e.code, message: e.message };
}

/** 422: a policy set that does not load, with every error of every file. */
export function invalidPolicies(err: PolicyValidationError): ApiError {
  return new ApiError(422, 'ERR_POLICY_INVALID', err.message.split('\n')[0]!.replace(/:$/, '') + '; nothing was changed', {
    errors: err.errors.map(toApiPolicyError),
  });
}

/**
 * Any error a handler throws, as an ApiError. Known errors of kubegate's own modules keep their
 * meaning (a missing record is 404, a lost race 409); anything else is a 500 whose message is
 * generic, so internals never reach the caller. The original goes to the log.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof PolicyValidationError) return invalidPolicies(err);
  if (err instanceof StoreNotFoundError) return notFound(err.message);
  if (err instanceof StoreConflictError) return conflict(err.message);
  if (err instanceof StoreUnavailableError) return new ApiError(503, 'ERR_UNAVAILABLE', 'the store is unavailable; try again shortly');
  if (err instanceof StoreError && err.code === 'ERR_STORE_INVALID_INPUT') return new ApiError(400, 'ERR_BAD_REQUEST', err.message);
  if (err instanceof CredentialRequestError || err instanceof DurationError) return new ApiError(400, 'ERR_BAD_REQUEST', err.message);
  return new ApiError(500, 'ERR_INTERNAL', 'internal error; the control plane log has the details');
}
