/**
 * Issuing kubeconfigs over the API. A user may renew their own; an administrator may issue one
 * for anyone. What goes into the kubeconfig (one context per cluster the policy in force lets
 * the user reach with kubectl, a certificate recorded before it is handed out, and a refusal
 * instead of an empty file) is credentials/kubeconfig-issuer.ts, shared with the local stack;
 * this file adds who may ask, the request's checks, and the HTTP answer.
 */
import { DurationError, parseDurationMs } from '../config/duration';
import { issueKubeconfig, NoKubectlAccessError } from '../credentials/kubeconfig-issuer';
import type { ApiDeps } from './api-deps';
import type { ApiInstance } from './api-request';
import { OPTIONAL_STRING, OPTIONAL_STRING_LIST, bodyWith } from './api-schemas';
import { badRequest, conflict, forbidden, notFound } from './api-errors';
import { iso, type KubeconfigView } from './api-views';
import { putInForce } from './in-force';
import { formatDuration } from './format-duration';

type KubeconfigRequest = { user?: string | null; ttl?: string | null; clusters?: string[] | null };

export function kubeconfigRoutes(app: ApiInstance, deps: ApiDeps): void {
  app.post<{ Body: KubeconfigRequest }>(
    '/kubeconfigs',
    { schema: { body: bodyWith({ user: OPTIONAL_STRING, ttl: OPTIONAL_STRING, clusters: OPTIONAL_STRING_LIST }) } },
    async (req, reply) => {
      const body = req.body;
      const settings = deps.issueKubeconfig;
      const target = body.user ?? req.caller.user;
      if (target !== req.caller.user && !req.caller.admin) {
        throw forbidden(`only administrators may issue a kubeconfig for another user; you may renew your own (user "${req.caller.user}")`);
      }
      const ttlText = body.ttl ?? undefined;
      let ttlMs = settings.defaultTtlMs;
      if (ttlText !== undefined) {
        try {
          ttlMs = parseDurationMs(ttlText);
        } catch (err) {
          if (err instanceof DurationError) throw badRequest('ttl', err.message);
          throw err;
        }
      }
      if (ttlMs > settings.maxTtlMs) {
        throw badRequest('ttl', `ttl ${ttlText ?? formatDuration(ttlMs)} is longer than the maximum of ${formatDuration(settings.maxTtlMs)}`);
      }
      const clusters = body.clusters ?? undefined;
      const access = deps.access();
      if (clusters !== undefined) {
        if (clusters.length === 0) throw badRequest('clusters', 'clusters must not be empty: leave it out for every cluster the user may reach');
        const unknown = clusters.filter((c) => !access.cluster(c));
        if (unknown.length > 0) {
          const known = access.allClusters().map((c) => c.name).sort();
          throw badRequest('clusters', `unknown cluster${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; registered: ${known.join(', ') || 'none'}`);
        }
      }
      const record = access.user(target);
      if (!record) throw notFound(`user "${target}" does not exist`);
      if (record.disabled) throw conflict(`user "${target}" is disabled; enable the user first`);

      const now = deps.clock();
      let issued;
      try {
        issued = await issueKubeconfig(
          {
            store: deps.store,
            access,
            userCa: settings.userCa,
            edgeUrl: settings.edgeUrl,
            edgeCaPem: settings.edgeCaPem,
            userServerNameSuffix: settings.userServerNameSuffix,
            maxTtlMs: settings.maxTtlMs,
          },
          { user: record.name, ttlMs, now: new Date(now), ...(clusters ? { clusters } : {}) },
        );
      } catch (err) {
        if (err instanceof NoKubectlAccessError) throw forbidden(err.message);
        throw err;
      }
      deps.logger.info('kubeconfig issued', { user: issued.user, serial: issued.serial, notAfter: issued.notAfter.toISOString(), by: req.caller.user });
      await putInForce(deps, `the certificate for user "${issued.user}"`);

      const subject = { user: record.name, groups: record.groups };
      const context = access.evaluationContext(record.name, now);
      const notes: string[] = [];
      if (issued.edge === 'unconfirmed') {
        notes.push('the edge has not confirmed your new endpoint yet: if the first request is refused, retry in a few seconds');
      }
      for (const name of issued.clusters) {
        const cluster = access.cluster(name);
        if (cluster && access.engine.clusterAccess(subject, cluster, context).requiresActiveSession) {
          notes.push(`cluster ${name}: kubectl works only while you have an active web console session`);
        }
      }
      if (clusters) {
        const left = clusters.filter((c) => !issued.clusters.includes(c));
        if (left.length > 0) notes.push(`no kubectl access to ${left.join(', ')}: left out`);
      }
      const view: KubeconfigView = {
        kubeconfig: issued.kubeconfig,
        user: issued.user,
        clusters: issued.clusters,
        notAfter: iso(issued.notAfter.getTime()),
        serial: issued.serial,
        notes,
      };
      return reply.code(201).send(view);
    },
  );
}
