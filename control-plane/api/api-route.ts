/**
 * What a handler of the admin API sees and returns. Handlers are plain async functions of a
 * parsed request: the server has already authenticated the caller, parsed the JSON body and
 * matched the path, so each resource file is only about its resource.
 */
import type { Store } from '../store/store';
import type { AccessState } from '../access-state/access-state';
import type { KeyPairPem } from '../pki/certificates';
import type { Logger } from '../log/logger';
import type { AuditLog } from '../audit/audit-log';

/** Who is calling: from the client certificate, resolved against kubegate's records. */
export interface Caller {
  readonly user: string;
  readonly groups: readonly string[];
  readonly admin: boolean;
  /** The serial of the certificate the caller presented. */
  readonly serial: string;
}

export interface ApiRequest {
  readonly method: string;
  /** Path parameters, already percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body; undefined when the request had none. */
  readonly body: unknown;
  readonly caller: Caller;
}

export interface ApiResponse {
  /** @default 200 */
  readonly status?: number;
  readonly body: unknown;
}

/** What issuing a kubeconfig needs: the user CA's key and where (and how) users reach the edge. */
export interface KubeconfigIssuing {
  readonly userCa: KeyPairPem;
  /** Base URL of the edge, e.g. https://edge.example.com:8443 */
  readonly edgeUrl: string;
  /** The CA of the edge's serving certificate, which kubeconfigs trust. */
  readonly edgeCaPem: string;
  /** identity/user-identity.ts: the suffix of users' TLS server names. */
  readonly userServerNameSuffix: string;
  /** Lifetime when the request names none. */
  readonly defaultTtlMs: number;
  /** The longest lifetime anyone may ask for. */
  readonly maxTtlMs: number;
}

/** The server's collaborators, with defaults applied; every handler gets them. */
export interface ApiDeps {
  readonly store: Store;
  readonly access: () => AccessState;
  readonly refresh: () => Promise<void>;
  readonly issueKubeconfig: KubeconfigIssuing;
  readonly clock: () => number;
  readonly newId: () => string;
  readonly logger: Logger;
  /** The audit log the /audit routes read; absent, they answer 503. */
  readonly audit?: AuditLog;
}

export type Handler = (req: ApiRequest, deps: ApiDeps) => Promise<ApiResponse>;

export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Under /api/v1, with `{name}` for a path parameter, e.g. `/users/{name}/groups`. */
  readonly path: string;
  /** Only members of kubegate:admins may call it. @default false */
  readonly admin?: boolean;
  readonly handler: Handler;
}
