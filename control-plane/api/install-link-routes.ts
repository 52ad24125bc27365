/**
 * Why: `kubegate cluster add NAME` must register the cluster and hand back, once, the one line
 * its admin runs; `kubegate cluster install-link NAME` hands out another for a cluster
 * already registered (a wiped cluster, or an upgrade to the images the hub now names). Both are
 * administrators' routes: the link they mint is a credential that serves a join token. The
 * token's secret is shown here once and kept only as a hash.
 */
import type { ApiDeps } from './api-deps';
import type { ApiInstance } from './api-request';
import type { InstallLinkView } from './api-views';
import { ApiError, badRequest, conflict, notFound } from './api-errors';
import { OPTIONAL_STRING, bodyWith } from './api-schemas';
import { CLUSTER_NAME, CLUSTER_PARAMS, OPTIONAL_LABELS } from './cluster-schemas';
import { putInForce } from './in-force';
import { DEFAULT_INSTALL_TTL_MS, MAX_INSTALL_TTL_MS, MIN_INSTALL_TTL_MS, type AgentInstallSettings } from './agent-install-settings';
import { curlInstallCommand, kubectlInstallCommand } from './install-command';
import { INSTALL_PATH } from './install-server';
import { DurationError, parseDurationMs } from '../config/duration';
import { hashInstallSecret, newInstallToken } from '../agent-gateway/install-token';
import type { InstallTokenRecord } from '../store/install-token';

/** The route needs the controller's `agentInstall` settings; without them it says so. */
function settingsOf(deps: ApiDeps): AgentInstallSettings {
  if (!deps.agentInstall) {
    throw new ApiError(501, 'ERR_AGENT_INSTALL_NOT_CONFIGURED', 'this hub cannot hand out install links: its controller configuration has no agentInstall section (hubAgentEndpoint, images, allowedClusterRoles)');
  }
  return deps.agentInstall;
}

function ttlOf(settings: AgentInstallSettings, text: string | null | undefined): number {
  if (text === undefined || text === null) return settings.defaultTtlMs ?? DEFAULT_INSTALL_TTL_MS;
  let ms: number;
  try {
    ms = parseDurationMs(text);
  } catch (err) {
    if (err instanceof DurationError) throw badRequest('ttl', err.message);
    throw err;
  }
  if (ms < MIN_INSTALL_TTL_MS || ms > MAX_INSTALL_TTL_MS) throw badRequest('ttl', `ttl must be at least 1s and at most 24h; got ${text}`);
  return ms;
}

/** A new token for `cluster`, as the store takes it, and the text that goes into the link. */
function mint(deps: ApiDeps, cluster: string, by: string, ttlMs: number): { record: Omit<InstallTokenRecord, 'usedAt'>; text: string } {
  const token = newInstallToken();
  const now = deps.clock();
  return { record: { id: token.id, cluster, secretHash: hashInstallSecret(token.secret), createdAt: now, createdBy: by, expiresAt: now + ttlMs }, text: token.text };
}

function view(settings: AgentInstallSettings, record: Omit<InstallTokenRecord, 'usedAt'>, text: string, labels: Readonly<Record<string, string>>): InstallLinkView {
  const url = `${settings.publicUrl}${INSTALL_PATH}/${text}`;
  return {
    cluster: record.cluster,
    labels,
    tokenId: record.id,
    url,
    expiresAt: new Date(record.expiresAt).toISOString(),
    command: kubectlInstallCommand(url, settings.servingCaPem),
    curlCommand: curlInstallCommand(url, settings.servingCaPem),
    ...(settings.servingCaPem ? { caPem: settings.servingCaPem } : {}),
    images: { ...settings.images },
  };
}

export function installLinkRoutes(app: ApiInstance, deps: ApiDeps): void {
  app.post<{ Body: { name: string; labels?: Record<string, string> | null; ttl?: string | null } }>(
    '/clusters',
    { config: { admin: true }, schema: { body: bodyWith({ name: CLUSTER_NAME, labels: OPTIONAL_LABELS, ttl: OPTIONAL_STRING }, ['name']) } },
    async (req, reply) => {
      const settings = settingsOf(deps);
      const { name } = req.body;
      const ttlMs = ttlOf(settings, req.body.ttl);
      if (deps.access().cluster(name)) throw conflict(`cluster "${name}" is already registered; \`kubegate cluster install-link ${name}\` prints a new install command for it`);
      const token = mint(deps, name, req.caller.user, ttlMs);
      const { cluster } = await deps.store.registerCluster({ name, labels: req.body.labels ?? {}, now: token.record.createdAt }, token.record);
      deps.logger.info('cluster registered with an install link', { cluster: name, labels: cluster.labels, token: token.record.id, by: req.caller.user, expiresAt: new Date(token.record.expiresAt).toISOString() });
      await putInForce(deps, `cluster "${name}"`);
      return reply.code(201).send(view(settings, token.record, token.text, cluster.labels));
    },
  );

  app.post<{ Params: { name: string }; Body: { ttl?: string | null } }>(
    '/clusters/:name/install-tokens',
    { config: { admin: true }, schema: { params: CLUSTER_PARAMS, body: bodyWith({ ttl: OPTIONAL_STRING }) } },
    async (req, reply) => {
      const settings = settingsOf(deps);
      const { name } = req.params;
      const ttlMs = ttlOf(settings, req.body.ttl);
      const cluster = await deps.store.getCluster(name);
      if (!cluster) {
        const direct = deps.access().cluster(name) !== undefined;
        throw notFound(direct ? `cluster "${name}" is reached directly, without an agent; it has nothing to install` : `cluster "${name}" is not registered; \`kubegate cluster add ${name}\` registers it`);
      }
      const token = mint(deps, name, req.caller.user, ttlMs);
      await deps.store.createInstallToken(token.record);
      deps.logger.info('install link created', { cluster: name, token: token.record.id, by: req.caller.user, expiresAt: new Date(token.record.expiresAt).toISOString() });
      return reply.code(201).send(view(settings, token.record, token.text, cluster.labels));
    },
  );
}
