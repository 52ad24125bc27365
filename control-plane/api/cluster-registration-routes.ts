/**
 * Why: a cluster behind a firewall must be manageable as a resource of its own (a Pulumi
 * program's create, read, update and delete, or `kubegate cluster register|show|remove`):
 * registered for an agent to join without an install link, its labels set by the hub, read
 * back to see drift, and deregistered, which takes it off the edge and ends its agent's
 * access for good (agent-gateway/agent-registration.ts). Clusters reached directly belong to
 * the controller's configuration and are refused here.
 */
import type { ApiDeps } from './api-deps';
import type { ApiInstance } from './api-request';
import type { ClusterView } from './api-views';
import { conflict, notFound } from './api-errors';
import { NO_FIELDS, bodyWith } from './api-schemas';
import { CLUSTER_PARAMS, LABELS } from './cluster-schemas';
import { clusterViews } from './cluster-view';
import { putInForce } from './in-force';

type ClusterParams = { name: string };

const direct = (name: string, what: string) =>
  conflict(`cluster "${name}" is reached directly, as the controller's configuration registers it (no agent); ${what}`);

export function clusterRegistrationRoutes(app: ApiInstance, deps: ApiDeps): void {
  app.get<{ Params: ClusterParams }>('/clusters/:name', { schema: { params: CLUSTER_PARAMS } }, async (req): Promise<{ cluster: ClusterView }> => {
    const { name } = req.params;
    const record = await deps.store.getCluster(name);
    const cluster = record ? { name, labels: record.labels } : deps.access().cluster(name);
    if (!cluster) throw notFound(`cluster "${name}" is not registered; \`kubegate cluster list\` lists the clusters there are`);
    return { cluster: clusterViews(deps, req.caller)(cluster, record) };
  });

  app.put<{ Params: ClusterParams; Body: { labels: Record<string, string> } }>(
    '/clusters/:name',
    { config: { admin: true }, schema: { params: CLUSTER_PARAMS, body: bodyWith({ labels: LABELS }, ['labels']) } },
    async (req, reply) => {
      const { name } = req.params;
      if (!(await deps.store.getCluster(name)) && deps.access().cluster(name)) {
        throw direct(name, 'its labels come from that configuration, and it has no agent to register for');
      }
      const { cluster, created } = await deps.store.putCluster({ name, labels: req.body.labels, now: deps.clock() });
      deps.logger.info(created ? 'cluster registered for an agent to join' : 'cluster labels set', { cluster: name, labels: cluster.labels, by: req.caller.user });
      await putInForce(deps, `cluster "${name}"`);
      const view = clusterViews(deps, req.caller)({ name, labels: cluster.labels }, cluster);
      return reply.code(created ? 201 : 200).send({ cluster: view });
    },
  );

  app.delete<{ Params: ClusterParams }>('/clusters/:name', { config: { admin: true }, schema: { params: CLUSTER_PARAMS, body: NO_FIELDS } }, async (req) => {
    const { name } = req.params;
    if (!(await deps.store.getCluster(name))) {
      if (deps.access().cluster(name)) throw direct(name, 'remove it from that configuration instead');
      throw notFound(`cluster "${name}" is not registered`);
    }
    // The record, its join tokens and install links go in one change; every replica then
    // drops the cluster from the edge and disconnects its agent, which cannot come back.
    await deps.store.deleteCluster(name);
    deps.logger.info('cluster deregistered', { cluster: name, by: req.caller.user });
    await putInForce(deps, `the deregistration of cluster "${name}"`);
    return { deleted: name };
  });
}
