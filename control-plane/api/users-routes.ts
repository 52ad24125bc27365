/**
 * Users and their group membership (administrators only). Names are checked the way
 * certificates and Kubernetes will carry them, and no change may leave kubegate without an
 * enabled administrator.
 */
import type { UserRecord } from '../store/store';
import type { ApiDeps, Route } from './api-route';
import { bodyObject, checkName, groupList, requiredString } from './api-input';
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

export const userRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/users',
    admin: true,
    handler: async (_req, deps) => {
      const users = await deps.store.listUsers();
      return { body: { users: users.map(userView) satisfies UserView[] } };
    },
  },
  {
    method: 'POST',
    path: '/users',
    admin: true,
    handler: async (req, deps) => {
      const body = bodyObject(req.body, ['name', 'groups']);
      const name = checkName('user', 'name', requiredString(body, 'name'));
      const groups = groupList(body, 'groups', false) ?? [];
      const user = await deps.store.createUser({ name, groups, now: deps.clock() });
      deps.logger.info('user created', { user: name, groups, by: req.caller.user });
      await putInForce(deps, `user "${name}"`);
      return { status: 201, body: { user: userView(user) } };
    },
  },
  {
    method: 'GET',
    path: '/users/{name}',
    admin: true,
    handler: async (req, deps) => {
      const user = await requireUser(deps, req.params.name!);
      const now = deps.clock();
      const certificates = (await deps.store.listCertificates(user.name)).sort((a, b) => b.issuedAt - a.issuedAt || (a.serial < b.serial ? -1 : 1));
      const detail: UserDetailView = { ...userView(user), certificates: certificates.map((c) => certificateView(c, now)) };
      return { body: { user: detail } };
    },
  },
  {
    method: 'PUT',
    path: '/users/{name}/groups',
    admin: true,
    handler: async (req, deps) => {
      const body = bodyObject(req.body, ['groups']);
      const groups = groupList(body, 'groups', true)!;
      const user = await requireUser(deps, req.params.name!);
      assertAdminRemains(await usersAfter(deps, user.name, { ...user, groups }), `setting the groups of user "${user.name}"`);
      const updated = await deps.store.setUserGroups(user.name, groups, deps.clock());
      deps.logger.info('user groups set', { user: user.name, groups, by: req.caller.user });
      await putInForce(deps, `the groups of user "${user.name}"`);
      return { body: { user: userView(updated) } };
    },
  },
  {
    method: 'POST',
    path: '/users/{name}/disable',
    admin: true,
    handler: async (req, deps) => {
      bodyObject(req.body, []);
      const user = await requireUser(deps, req.params.name!);
      assertAdminRemains(await usersAfter(deps, user.name, { ...user, disabled: true }), `disabling user "${user.name}"`);
      const updated = await deps.store.setUserDisabled(user.name, true, deps.clock());
      deps.logger.info('user disabled', { user: user.name, by: req.caller.user });
      await putInForce(deps, `disabling user "${user.name}"`);
      return { body: { user: userView(updated) } };
    },
  },
  {
    method: 'POST',
    path: '/users/{name}/enable',
    admin: true,
    handler: async (req, deps) => {
      bodyObject(req.body, []);
      const user = await requireUser(deps, req.params.name!);
      const updated = await deps.store.setUserDisabled(user.name, false, deps.clock());
      deps.logger.info('user enabled', { user: user.name, by: req.caller.user });
      await putInForce(deps, `enabling user "${user.name}"`);
      return { body: { user: userView(updated) } };
    },
  },
  {
    method: 'DELETE',
    path: '/users/{name}',
    admin: true,
    handler: async (req, deps) => {
      bodyObject(req.body, []);
      const user = await requireUser(deps, req.params.name!);
      assertAdminRemains(await usersAfter(deps, user.name, null), `deleting user "${user.name}"`);
      await deps.store.deleteUser(user.name);
      deps.logger.info('user deleted', { user: user.name, by: req.caller.user });
      await putInForce(deps, `deleting user "${user.name}"`);
      return { body: { deleted: user.name } };
    },
  },
];
