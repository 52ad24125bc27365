/**
 * Groups (administrators only). A group record holds a name and a description; membership
 * lives on users (the store's setUserGroups), so a group named in policies can have members
 * without a record, as identity-provider groups do. Adding a member therefore accepts any
 * well-formed group name.
 */
import type { ApiDeps } from './api-deps';
import type { ApiInstance } from './api-request';
import { checkName } from './api-input';
import { NO_FIELDS, NON_BLANK_STRING, OPTIONAL_STRING, SEGMENT, bodyWith, pathParams } from './api-schemas';
import { groupView, userView, type GroupView } from './api-views';
import { notFound } from './api-errors';
import { assertAdminRemains } from './admins';
import { putInForce } from './in-force';
import { requireUser, usersAfter } from './users-routes';

export function groupRoutes(app: ApiInstance, deps: ApiDeps): void {
  const admin = { admin: true };

  app.get('/groups', { config: admin }, async () => {
    const [groups, users] = await Promise.all([deps.store.listGroups(), deps.store.listUsers()]);
    return { groups: groups.map((g) => groupView(g, users)) satisfies GroupView[] };
  });

  app.post<{ Body: { name: string; description?: string | null } }>(
    '/groups',
    { config: admin, schema: { body: bodyWith({ name: NON_BLANK_STRING, description: OPTIONAL_STRING }, ['name']) } },
    async (req, reply) => {
      const name = checkName('group', 'name', req.body.name);
      const description = req.body.description ?? '';
      const group = await deps.store.createGroup({ name, description, now: deps.clock() });
      deps.logger.info('group created', { group: name, by: req.caller.user });
      await putInForce(deps, `group "${name}"`);
      return reply.code(201).send({ group: groupView(group, await deps.store.listUsers()) });
    },
  );

  app.delete<{ Params: { name: string } }>('/groups/:name', { config: admin, schema: { params: pathParams({ name: SEGMENT }), body: NO_FIELDS } }, async (req) => {
    const name = req.params.name;
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
    return { deleted: name };
  });

  app.post<{ Params: { name: string }; Body: { user: string } }>(
    '/groups/:name/members',
    { config: admin, schema: { params: pathParams({ name: SEGMENT }), body: bodyWith({ user: NON_BLANK_STRING }, ['user']) } },
    async (req) => {
      const group = checkName('group', 'name', req.params.name);
      const user = await requireUser(deps, req.body.user);
      if (user.groups.includes(group)) return { user: userView(user), changed: false };
      const updated = await deps.store.setUserGroups(user.name, [...user.groups, group], deps.clock());
      deps.logger.info('group member added', { group, user: user.name, by: req.caller.user });
      await putInForce(deps, `adding user "${user.name}" to group "${group}"`);
      return { user: userView(updated), changed: true };
    },
  );

  app.delete<{ Params: { name: string; user: string } }>(
    '/groups/:name/members/:user',
    { config: admin, schema: { params: pathParams({ name: SEGMENT, user: SEGMENT }), body: NO_FIELDS } },
    async (req) => {
      const group = req.params.name;
      const user = await requireUser(deps, req.params.user);
      if (!user.groups.includes(group)) throw notFound(`user "${user.name}" is not a member of group "${group}"`);
      const groups = user.groups.filter((g) => g !== group);
      assertAdminRemains(await usersAfter(deps, user.name, { ...user, groups }), `removing user "${user.name}" from group "${group}"`);
      const updated = await deps.store.setUserGroups(user.name, groups, deps.clock());
      deps.logger.info('group member removed', { group, user: user.name, by: req.caller.user });
      await putInForce(deps, `removing user "${user.name}" from group "${group}"`);
      return { user: userView(updated), changed: true };
    },
  );
}
