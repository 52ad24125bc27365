/**
 * Groups (administrators only). A group record holds a name and a description; membership
 * lives on users (the store's setUserGroups), so a group named in policies can have members
 * without a record, as identity-provider groups do. Adding a member therefore accepts any
 * well-formed group name.
 */
import type { Route } from './api-route';
import { bodyObject, checkName, optionalString, requiredString } from './api-input';
import { groupView, userView, type GroupView } from './api-views';
import { notFound } from './api-errors';
import { assertAdminRemains } from './admins';
import { putInForce } from './in-force';
import { requireUser, usersAfter } from './users-routes';

export const groupRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/groups',
    admin: true,
    handler: async (_req, deps) => {
      const [groups, users] = await Promise.all([deps.store.listGroups(), deps.store.listUsers()]);
      return { body: { groups: groups.map((g) => groupView(g, users)) satisfies GroupView[] } };
    },
  },
  {
    method: 'POST',
    path: '/groups',
    admin: true,
    handler: async (req, deps) => {
      const body = bodyObject(req.body, ['name', 'description']);
      const name = checkName('group', 'name', requiredString(body, 'name'));
      const description = optionalString(body, 'description') ?? '';
      const group = await deps.store.createGroup({ name, description, now: deps.clock() });
      deps.logger.info('group created', { group: name, by: req.caller.user });
      await putInForce(deps, `group "${name}"`);
      return { status: 201, body: { group: groupView(group, await deps.store.listUsers()) } };
    },
  },
  {
    method: 'DELETE',
    path: '/groups/{name}',
    admin: true,
    handler: async (req, deps) => {
      bodyObject(req.body, []);
      const name = req.params.name!;
      const groups = await deps.store.listGroups();
      if (!groups.some((g) => g.name === name)) throw notFound(`group "${name}" does not exist`);
      const users = await deps.store.listUsers();
      assertAdminRemains(
        users.map((u) => ({ ...u, groups: u.groups.filter((g) => g !== name) })),
        `deleting group "${name}"`,
      );
      await deps.store.deleteGroup(name, deps.clock());
      deps.logger.info('group deleted', { group: name, by: req.caller.user });
      await putInForce(deps, `deleting group "${name}"`);
      return { body: { deleted: name } };
    },
  },
  {
    method: 'POST',
    path: '/groups/{name}/members',
    admin: true,
    handler: async (req, deps) => {
      const group = checkName('group', 'name', req.params.name!);
      const body = bodyObject(req.body, ['user']);
      const user = await requireUser(deps, requiredString(body, 'user'));
      if (user.groups.includes(group)) return { body: { user: userView(user), changed: false } };
      const updated = await deps.store.setUserGroups(user.name, [...user.groups, group], deps.clock());
      deps.logger.info('group member added', { group, user: user.name, by: req.caller.user });
      await putInForce(deps, `adding user "${user.name}" to group "${group}"`);
      return { body: { user: userView(updated), changed: true } };
    },
  },
  {
    method: 'DELETE',
    path: '/groups/{name}/members/{user}',
    admin: true,
    handler: async (req, deps) => {
      bodyObject(req.body, []);
      const group = req.params.name!;
      const user = await requireUser(deps, req.params.user!);
      if (!user.groups.includes(group)) throw notFound(`user "${user.name}" is not a member of group "${group}"`);
      const groups = user.groups.filter((g) => g !== group);
      assertAdminRemains(await usersAfter(deps, user.name, { ...user, groups }), `removing user "${user.name}" from group "${group}"`);
      const updated = await deps.store.setUserGroups(user.name, groups, deps.clock());
      deps.logger.info('group member removed', { group, user: user.name, by: req.caller.user });
      await putInForce(deps, `removing user "${user.name}" from group "${group}"`);
      return { body: { user: userView(updated), changed: true } };
    },
  },
];
