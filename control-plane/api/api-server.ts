/**
 * The control plane's admin API: HTTPS with client certificates from kubegate's user CA, JSON
 * in and out, under /api/v1. The CLI uses it today and the web console will; both see the same
 * rules: who the caller is comes from their certificate and kubegate's records, administrators
 * are members of kubegate:admins, and a mutation is answered only once it is in force.
 *
 * This file is the server's lifecycle (start, listen, close); api-app.ts is what every request
 * goes through, on Fastify.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Store } from '../store/store';
import type { AccessState } from '../access-state/access-state';
import type { Logger } from '../log/logger';
import type { AuditLog } from '../audit/audit-log';
import type { ApiDeps, KubeconfigIssuing } from './api-deps';
import type { AgentInstallSettings } from './agent-install-settings';
import { ADMINS_GROUP } from './admins';
import { API_PREFIX, buildApiApp } from './api-app';

export { ADMINS_GROUP, API_PREFIX };
export type { KubeconfigIssuing };

/** Large enough for a big policy repository, small enough that a body cannot exhaust memory. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ApiServerProps {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** The API's serving certificate and key (clients verify it against the CA in their kubeconfig). */
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  /** Client certificates must chain to this CA: the same user CA the edge trusts. */
  readonly userCaPem: string;
  readonly store: Store;
  /** The control plane's current in-memory view; callers are resolved against it. */
  readonly access: () => AccessState;
  /** Reloads the view (and the edge's configuration) from the store; awaited after every mutation. */
  refresh(): Promise<void>;
  readonly issueKubeconfig: KubeconfigIssuing;
  /** Epoch ms. @default Date.now */
  readonly clock?: () => number;
  /** Ids of break-glass requests and console sessions. @default crypto.randomUUID */
  readonly newId?: () => string;
  readonly logger: Logger;
  /** Larger request bodies are refused with 413. @default DEFAULT_MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
  /** What GET /audit and /audit/verify read; without it they answer 503. */
  readonly audit?: AuditLog;
  /** See ApiDeps.agentInstall. @default none: `cluster add` is refused with 501 */
  readonly agentInstall?: AgentInstallSettings;
}

export interface RunningApiServer {
  readonly port: number;
  /** https://<host>:<port> */
  readonly url: string;
  close(): Promise<void>;
}

export async function startApiServer(props: ApiServerProps): Promise<RunningApiServer> {
  const deps: ApiDeps = {
    store: props.store,
    access: props.access,
    refresh: () => props.refresh(),
    issueKubeconfig: props.issueKubeconfig,
    clock: props.clock ?? Date.now,
    newId: props.newId ?? randomUUID,
    logger: props.logger,
    audit: props.audit,
    ...(props.agentInstall ? { agentInstall: props.agentInstall } : {}),
  };
  const app = buildApiApp(deps, { tls: props.tls, userCaPem: props.userCaPem, maxBodyBytes: props.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });
  const host = props.host ?? '127.0.0.1';
  await app.listen({ port: props.port ?? 0, host });
  const port = (app.server.address() as AddressInfo).port;
  props.logger.info('admin API serving', { url: `https://${formatHost(host)}:${port}${API_PREFIX}` });
  return {
    port,
    url: `https://${formatHost(host)}:${port}`,
    // Open connections are closed, not waited for (forceCloseConnections).
    close: () => app.close(),
  };
}

const formatHost = (host: string) => (host.includes(':') ? `[${host}]` : host);
