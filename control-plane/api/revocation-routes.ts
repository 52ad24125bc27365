/**
 * Revoking a user (administrators only): every certificate they hold stops working at the
 * edge and here, their console sessions end and their break-glass grants are cancelled, in one
 * store transaction. The answer comes once the edge has the new revocation list.
 */
import type { ApiDeps } from './api-deps';
import type { ApiInstance } from './api-request';
import { NO_FIELDS, SEGMENT, pathParams } from './api-schemas';
import { iso, type RevocationView } from './api-views';
import { putInForce } from './in-force';
import { requireUser } from './users-routes';

export function revocationRoutes(app: ApiInstance, deps: ApiDeps): void {
  app.post<{ Params: { name: string } }>(
    '/users/:name/revoke',
    { config: { admin: true }, schema: { params: pathParams({ name: SEGMENT }), body: NO_FIELDS } },
    async (req) => {
      const user = await requireUser(deps, req.params.name);
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
      return view;
    },
  );
}
