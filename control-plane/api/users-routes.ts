/**
 * Users and their group membership (administrators only). Names are checked the way
 * certificates and Kubernetes will carry them, and no change may leave kubegate without an
 * enabled administrator.
 */
import type { UserRecord } from '../store/store';
import type { ApiDeps } from './api-deps';
import type { ApiInstance } from './api-request';
import { checkName, groupList } from './api-input';
import { NO_FIELDS, NON_BLANK_STRING, OPTIONAL_STRING_LIST, STRING_LIST, SEGMENT, bodyWith, pathParams } from './api-schemas';
import { certificateView, userView, type UserDetailView, type UserView } from './api-views';
import { notFound } from './api-errors';
import { assertAdminRemains } from './admins';
import { putInForce } from './in-force';

export async function requireUser(deps: ApiDeps, name: string): Promise<UserRecord> {
  const user = await deps.store.getUser(name);
  if (!user) throw notFound(`user "${name}" does not exist`);
  return user;
}

/** The user list as it would be with `name` replaced by `next` (or removed). */
export async function usersAfter(deps: ApiDeps, name: string, next: UserRecord | null): Promise<UserRecord[]> {
  const users = await deps.store.listUsers();
  return users.flatMap((u) => (u.name !== name ? [u] : next ? [next] : []));
}

const USER = pathParams({ name: SEGMENT });
type UserParams = { name: string };

export function userRoutes(app: ApiInstance, deps: ApiDeps): void {
  const admin = { admin: true };

  app.get('/users', { config: admin }, async () => {
    const users = await deps.store.listUsers();
    return { users: users.map(userView) satisfies UserView[] };
  });

  app.post<{ Body: { name: string; groups?: string[] | null } }>(
    '/users',
    { config: admin, schema: { body: bodyWith({ name: NON_BLANK_STRING, groups: OPTIONAL_STRING_LIST }, ['name']) } },
    async (req, reply) => {
      const name = checkName('user', 'name', req.body.name);
      const groups = groupList('groups', req.body.groups ?? []);
      const user = await deps.store.createUser({ name, groups, now: deps.clock() });
      deps.logger.info('user created', { user: name, groups, by: req.caller.user });
      await putInForce(deps, `user "${name}"`);
      return reply.code(201).send({ user: userView(user) });
    },
  );

  app.get<{ Params: UserParams }>('/users/:name', { config: admin, schema: { params: USER } }, async (req) => {
    const user = await requireUser(deps, req.params.name);
    const now = deps.clock();
    const certificates = (await deps.store.listCertificates(user.name)).sort((a, b) => b.issuedAt - a.issuedAt || (a.serial < b.serial ? -1 : 1));
    const detail: UserDetailView = { ...userView(user), certificates: certificates.map((c) => certificateView(c, now)) };
    return { user: detail };
  });

  app.put<{ Params: UserParams; Body: { groups: string[] } }>(
    '/users/:name/groups',
    { config: admin, schema: { params: USER, body: bodyWith({ groups: STRING_LIST }, ['groups']) } },
    async (req) => {
      const groups = groupList('groups', req.body.groups);
      const user = await requireUser(deps, req.params.name);
      assertAdminRemains(await usersAfter(deps, user.name, { ...user, groups }), `setting the groups of user "${user.name}"`);
      const updated = await deps.store.setUserGroups(user.name, groups, deps.clock());
      deps.logger.info('user groups set', { user: user.name, groups, by: req.caller.user });
      await putInForce(deps, `the groups of user "${user.name}"`);
      return { user: userView(updated) };
    },
  );

  app.post<{ Params: UserParams }>('/users/:name/disable', { config: admin, schema: { params: USER, body: NO_FIELDS } }, async (req) => {
    const user = await requireUser(deps, req.params.name);
    assertAdminRemains(await usersAfter(deps, user.name, { ...user, disabled: true }), `disabling user "${user.name}"`);
    const updated = await deps.store.setUserDisabled(user.name, true, deps.clock());
    deps.logger.info('user disabled', { user: user.name, by: req.caller.user });
    await putInForce(deps, `disabling user "${user.name}"`);
    return { user: userView(updated) };
  });

  app.post<{ Params: UserParams }>('/users/:name/enable', { config: admin, schema: { params: USER, body: NO_FIELDS } }, async (req) => {
    const user = await requireUser(deps, req.params.name);
    const updated = await deps.store.setUserDisabled(user.name, false, deps.clock());
    deps.logger.info('user enabled', { user: user.name, by: req.caller.user });
    await putInForce(deps, `enabling user "${user.name}"`);
    return { user: userView(updated) };
  });

  app.delete<{ Params: UserParams }>('/users/:name', { config: admin, schema: { params: USER, body: NO_FIELDS } }, async (req) => {
    const user = await requireUser(deps, req.params.name);
    assertAdminRemains(await usersAfter(deps, user.name, null), `deleting user "${user.name}"`);
    await deps.store.deleteUser(user.name);
    deps.logger.info('user deleted', { user: user.name, by: req.caller.user });
    await putInForce(deps, `deleting user "${user.name}"`);
    return { deleted: user.name };
  });
}
