/**
 * Registered clusters and how the caller may reach each: what the console lists and what a
 * user checks before asking for a kubeconfig or break-glass. For clusters behind a firewall,
 * whether their agent is connected (judged by its last heartbeat in the store, so every
 * replica answers the same), and one-time join tokens for new agents (administrators only).
 */
import type { ApiDeps } from './api-deps';
import type { ApiInstance } from './api-request';
import type { ClusterView, JoinTokenView } from './api-views';
import { badRequest } from './api-errors';
import { OPTIONAL_STRING, bodyWith } from './api-schemas';
import { CLUSTER_PARAMS } from './cluster-schemas';
import { clusterViews } from './cluster-view';
import { DurationError, parseDurationMs } from '../config/duration';
import { hashJoinSecret, newJoinToken } from '../agent-gateway/join-token';
import { StoreUnavailableError, type ClusterRecord } from '../store/store';

const DEFAULT_JOIN_TOKEN_TTL_MS = 3_600_000;
const MAX_JOIN_TOKEN_TTL_MS = 24 * 3_600_000;

export function clusterRoutes(app: ApiInstance, deps: ApiDeps): void {
  app.get('/clusters', async (req) => {
    const access = deps.access();
    // The clusters and the caller's access come from memory; only the agents' status needs
    // the store, so a store outage costs that column, not the whole list.
    let records: Map<string, ClusterRecord> | undefined;
    try {
      records = new Map((await deps.store.listClusters()).map((r) => [r.name, r]));
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      deps.logger.warn('cluster list without agent status: the store is unavailable', { error: err.message });
    }
    const view = clusterViews(deps, req.caller);
    const clusters: ClusterView[] = access
      .allClusters()
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((c) => view(c, records === undefined ? 'unknown' : records.get(c.name)));
    return { clusters };
  });

  app.post<{ Params: { name: string }; Body: { ttl?: string | null } }>(
    '/clusters/:name/join-tokens',
    { config: { admin: true }, schema: { params: CLUSTER_PARAMS, body: bodyWith({ ttl: OPTIONAL_STRING }) } },
    async (req, reply) => {
      const cluster = req.params.name;
      const ttlText = req.body.ttl ?? undefined;
      let ttlMs = DEFAULT_JOIN_TOKEN_TTL_MS;
      if (ttlText !== undefined) {
        try {
          ttlMs = parseDurationMs(ttlText);
        } catch (err) {
          if (err instanceof DurationError) throw badRequest('ttl', err.message);
          throw err;
        }
        if (ttlMs <= 0 || ttlMs > MAX_JOIN_TOKEN_TTL_MS) throw badRequest('ttl', `ttl must be more than 0 and at most 24h; got ${ttlText}`);
      }
      const now = deps.clock();
      const token = newJoinToken();
      await deps.store.createJoinToken({ id: token.id, cluster, secretHash: hashJoinSecret(token.secret), createdAt: now, createdBy: req.caller.user, expiresAt: now + ttlMs });
      deps.logger.info('join token created', { cluster, token: token.id, by: req.caller.user, expiresAt: new Date(now + ttlMs).toISOString() });
      const view: JoinTokenView = { token: token.text, id: token.id, cluster, expiresAt: new Date(now + ttlMs).toISOString() };
      return reply.code(201).send(view);
    },
  );
}
