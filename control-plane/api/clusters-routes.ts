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
import { OPTIONAL_STRING, bodyWith, pathParams } from './api-schemas';
import { DurationError, parseDurationMs } from '../config/duration';
import { hashJoinSecret, newJoinToken } from '../agent-gateway/join-token';
import { agentHeardRecently } from '../agent-gateway/agent-silence';
import { CLUSTER_NAME } from '../../agent/protocol/identities';
import { StoreUnavailableError, type ClusterRecord } from '../store/store';

const DEFAULT_JOIN_TOKEN_TTL_MS = 3_600_000;
const MAX_JOIN_TOKEN_TTL_MS = 24 * 3_600_000;

function agentView(record: ClusterRecord, now: number): NonNullable<ClusterView['agent']> {
  const status = record.lastSeenAt === 0 ? 'never-connected' : agentHeardRecently(record.lastSeenAt, now) ? 'connected' : 'disconnected';
  return {
    status,
    ...(record.lastSeenAt ? { lastSeenAt: new Date(record.lastSeenAt).toISOString() } : {}),
    kubernetesVersion: record.kubernetesVersion,
    agentVersion: record.agentVersion,
  };
}

/** A cluster's name as agents' certificates carry it: a DNS label. */
const CLUSTER = pathParams({
  name: {
    type: 'string',
    pattern: CLUSTER_NAME.source,
    problems: { pattern: `cluster name "{text}" must be a DNS label (lowercase letters, digits and '-', at most 63)` },
  },
});

export function clusterRoutes(app: ApiInstance, deps: ApiDeps): void {
  app.get('/clusters', async (req) => {
    const access = deps.access();
    const now = deps.clock();
    const subject = { user: req.caller.user, groups: req.caller.groups };
    const context = access.evaluationContext(req.caller.user, now);
    // The clusters and the caller's access come from memory; only the agents' status needs
    // the store, so a store outage costs that column, not the whole list.
    let records: Map<string, ClusterRecord> | undefined;
    try {
      records = new Map((await deps.store.listClusters()).map((r) => [r.name, r]));
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      deps.logger.warn('cluster list without agent status: the store is unavailable', { error: err.message });
    }
    const clusters: ClusterView[] = access
      .allClusters()
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((c) => {
        const a = access.engine.clusterAccess(subject, c, context);
        const record = records?.get(c.name);
        return {
          name: c.name,
          labels: c.labels,
          connection: records === undefined ? 'unknown' : record ? 'tunnel' : 'direct',
          ...(record ? { agent: agentView(record, now) } : {}),
          access: { mode: a.mode, requiresActiveSession: a.requiresActiveSession, clusterRoles: a.clusterRoles, policies: a.policies },
        };
      });
    return { clusters };
  });

  app.post<{ Params: { name: string }; Body: { ttl?: string | null } }>(
    '/clusters/:name/join-tokens',
    { config: { admin: true }, schema: { params: CLUSTER, body: bodyWith({ ttl: OPTIONAL_STRING }) } },
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
