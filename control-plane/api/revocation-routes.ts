/**
 * Revoking a user (administrators only): every certificate they hold stops working at the
 * edge and here, their console sessions end and their break-glass grants are cancelled, in one
 * store transaction. The answer comes once the edge has the new revocation list.
 */
import type { Route } from './api-route';
import { bodyObject } from './api-input';
import { iso, type RevocationView } from './api-views';
import { putInForce } from './in-force';
import { requireUser } from './users-routes';

export const revocationRoutes: readonly Route[] = [
  {
    method: 'POST',
    path: '/users/{name}/revoke',
    admin: true,
    handler: async (req, deps) => {
      bodyObject(req.body, []);
      const user = await requireUser(deps, req.params.name!);
      const now = deps.clock();
      const result = await deps.store.revokeUser(user.name, now, req.caller.user);
      deps.logger.info('user revoked', { user: user.name, revokedCertificates: result.revokedCertificates, by: req.caller.user });
      await putInForce(deps, `revoking user "${user.name}"`);
      const view: RevocationView = {
        user: user.name,
        revokedCertificates: result.revokedCertificates,
        revokedAt: iso(now),
        credentialRevision: result.user.credentialRevision,
      };
      return { body: view };
    },
  },
];
