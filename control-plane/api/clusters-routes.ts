/**
 * Registered clusters and how the caller may reach each: what the console lists and what a
 * user checks before asking for a kubeconfig or break-glass.
 */
import type { Route } from './api-route';
import type { ClusterView } from './api-views';

export const clusterRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/clusters',
    handler: async (req, deps) => {
      const access = deps.access();
      const subject = { user: req.caller.user, groups: req.caller.groups };
      const context = access.evaluationContext(req.caller.user, deps.clock());
      const clusters: ClusterView[] = access
        .allClusters()
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((c) => {
          const a = access.engine.clusterAccess(subject, c, context);
          return {
            name: c.name,
            labels: c.labels,
            access: { mode: a.mode, requiresActiveSession: a.requiresActiveSession, clusterRoles: a.clusterRoles, policies: a.policies },
          };
        });
      return { body: { clusters } };
    },
  },
];
