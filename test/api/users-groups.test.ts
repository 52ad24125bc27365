/**
 * Users, groups, membership and revocation through the admin API, against the real store:
 * every change is visible in the store and in force (the AccessState) when the API answers.
 */
import { ADMINS_GROUP } from '../../control-plane/api/admins';
import { ApiHarness } from './api-harness';

let h: ApiHarness;

beforeAll(async () => {
  h = await ApiHarness.start();
});
afterAll(() => h.close());

describe('users', () => {
  test('create, read, list: the new user is in force when the API answers', async () => {
    const created = await h.call('root', 'POST', '/users', { name: 'alice@example.com', groups: ['dev', 'ops', 'dev'] });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({ name: 'alice@example.com', groups: ['dev', 'ops'], disabled: false, admin: false, credentialRevision: 0 });
    expect(created.body.user.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // In force: the in-memory view already has the user (no reload by the test).
    expect(h.access.user('alice@example.com')?.groups).toEqual(['dev', 'ops']);

    const shown = await h.call('root', 'GET', `/users/${encodeURIComponent('alice@example.com')}`);
    expect(shown.status).toBe(200);
    expect(shown.body.user).toMatchObject({ name: 'alice@example.com', groups: ['dev', 'ops'], certificates: [] });

    const listed = await h.call('root', 'GET', '/users');
    expect(listed.body.users.map((u: { name: string }) => u.name)).toEqual(expect.arrayContaining(['root', 'alice@example.com']));
    expect(listed.body.users.find((u: { name: string }) => u.name === 'root').admin).toBe(true);
  });

  test('show lists the certificates with their status', async () => {
    await h.call('root', 'POST', '/users', { name: 'carl', groups: ['dev'] });
    const creds = await h.cert('carl');
    const before = await h.call('root', 'GET', '/users/carl');
    expect(before.body.user.certificates).toEqual([expect.objectContaining({ serial: creds.serial, status: 'valid' })]);
    await h.call('root', 'POST', '/users/carl/revoke');
    const after = await h.call('root', 'GET', '/users/carl');
    expect(after.body.user.certificates).toEqual([expect.objectContaining({ serial: creds.serial, status: 'revoked', revokedAt: expect.any(String) })]);
  });

  test('a duplicate user is 409', async () => {
    const r = await h.call('root', 'POST', '/users', { name: 'root', groups: [] });
    expect(r.status).toBe(409);
    expect(r.body).toEqual({ code: 'ERR_CONFLICT', message: 'user "root" already exists' });
  });

  test.each([
    [{ name: 'alice smith' }, 'name', 'user "alice smith" is not valid: use letters, digits and . _ @ : - (at most 128)'],
    [{ name: 'system:kube' }, 'name', 'user "system:kube" is reserved: names starting with system: belong to Kubernetes'],
    [{ name: '' }, 'name', 'name must not be empty'],
    [{}, 'name', 'name is required'],
    [{ name: 'bob', groups: 'dev' }, 'groups', 'groups must be a list of strings'],
    [{ name: 'bob', groups: ['dev', 'system:masters'] }, 'groups[1]', 'group "system:masters" is reserved: names starting with system: belong to Kubernetes'],
    [{ name: 'bob', groups: ['dev', 7] }, 'groups[1]', 'groups[1] must be a string'],
  ])('creating %j is 400 naming %s', async (body, field, message) => {
    const r = await h.call('root', 'POST', '/users', body);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 'ERR_BAD_REQUEST', field, message });
    expect((await h.call('root', 'GET', '/users/bob')).status).toBe(404);
  });

  test('set-groups replaces the groups and applies at once', async () => {
    await h.call('root', 'POST', '/users', { name: 'dave', groups: ['dev'] });
    const r = await h.call('root', 'PUT', '/users/dave/groups', { groups: ['ops', 'contractors'] });
    expect(r.status).toBe(200);
    expect(r.body.user.groups).toEqual(['contractors', 'ops']);
    expect(h.access.user('dave')?.groups).toEqual(['contractors', 'ops']);
    expect((await h.call('root', 'PUT', '/users/dave/groups', {})).body).toEqual({ code: 'ERR_BAD_REQUEST', field: 'groups', message: 'groups is required' });
  });

  test('disable and enable', async () => {
    await h.call('root', 'POST', '/users', { name: 'ed', groups: [] });
    const disabled = await h.call('root', 'POST', '/users/ed/disable');
    expect(disabled.body.user.disabled).toBe(true);
    expect(h.access.user('ed')?.disabled).toBe(true);
    const enabled = await h.call('root', 'POST', '/users/ed/enable');
    expect(enabled.body.user.disabled).toBe(false);
  });

  test('delete removes the user', async () => {
    await h.call('root', 'POST', '/users', { name: 'fay', groups: [] });
    const r = await h.call('root', 'DELETE', '/users/fay');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ deleted: 'fay' });
    expect(await h.store.getUser('fay')).toBeUndefined();
    expect(h.access.user('fay')).toBeUndefined();
  });

  test.each([
    ['GET', '/users/nobody'],
    ['PUT', '/users/nobody/groups'],
    ['POST', '/users/nobody/disable'],
    ['POST', '/users/nobody/enable'],
    ['DELETE', '/users/nobody'],
    ['POST', '/users/nobody/revoke'],
  ])('%s %s on an unknown user is 404', async (method, p) => {
    const r = await h.call('root', method, p, method === 'PUT' ? { groups: [] } : undefined);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ code: 'ERR_NOT_FOUND', message: 'user "nobody" does not exist' });
  });

  test('a user name with a slash stays one path segment', async () => {
    const r = await h.call('root', 'GET', `/users/${encodeURIComponent('a/b')}`);
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('user "a/b" does not exist');
  });
});

describe('the last administrator', () => {
  test('cannot be disabled, deleted or lose the admins group; with a second one they can', async () => {
    const refused = [
      await h.call('root', 'POST', '/users/root/disable'),
      await h.call('root', 'DELETE', '/users/root'),
      await h.call('root', 'PUT', '/users/root/groups', { groups: ['dev'] }),
      await h.call('root', 'DELETE', `/groups/${encodeURIComponent(ADMINS_GROUP)}/members/root`),
    ];
    for (const r of refused) {
      expect(r.status).toBe(409);
      expect(r.body.message).toMatch(/would leave no enabled member of kubegate:admins/);
    }
    expect(h.access.user('root')).toMatchObject({ disabled: false, groups: [ADMINS_GROUP] });

    await h.call('root', 'POST', '/users', { name: 'root2', groups: [ADMINS_GROUP] });
    expect((await h.call('root', 'PUT', '/users/root2/groups', { groups: [ADMINS_GROUP, 'dev'] })).status).toBe(200);
    expect((await h.call('root2', 'POST', '/users/root/disable')).status).toBe(200);
    expect((await h.call('root2', 'POST', '/users/root/enable')).status).toBe(200);
  });
});

describe('groups', () => {
  test('create, list with members, add and remove members, delete', async () => {
    await h.call('root', 'POST', '/users', { name: 'gus', groups: [] });
    const created = await h.call('root', 'POST', '/groups', { name: 'payments', description: 'the payments team' });
    expect(created.status).toBe(201);
    expect(created.body.group).toMatchObject({ name: 'payments', description: 'the payments team', members: [] });

    const added = await h.call('root', 'POST', '/groups/payments/members', { user: 'gus' });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ changed: true, user: { name: 'gus', groups: ['payments'] } });
    expect(h.access.user('gus')?.groups).toEqual(['payments']);
    const again = await h.call('root', 'POST', '/groups/payments/members', { user: 'gus' });
    expect(again.body.changed).toBe(false);

    const listed = await h.call('root', 'GET', '/groups');
    expect(listed.body.groups).toEqual([expect.objectContaining({ name: 'payments', members: ['gus'] })]);

    const removed = await h.call('root', 'DELETE', '/groups/payments/members/gus');
    expect(removed.status).toBe(200);
    expect(removed.body.user.groups).toEqual([]);
    const notMember = await h.call('root', 'DELETE', '/groups/payments/members/gus');
    expect(notMember.status).toBe(404);
    expect(notMember.body.message).toBe('user "gus" is not a member of group "payments"');

    await h.call('root', 'POST', '/groups/payments/members', { user: 'gus' });
    const deleted = await h.call('root', 'DELETE', '/groups/payments');
    expect(deleted.body).toEqual({ deleted: 'payments' });
    // Deleting the group removed it from its members too.
    expect(h.access.user('gus')?.groups).toEqual([]);
    expect((await h.call('root', 'GET', '/groups')).body.groups).toEqual([]);
  });

  test('membership of a group without a record (an identity-provider group) is allowed', async () => {
    await h.call('root', 'POST', '/users', { name: 'hal', groups: [] });
    const r = await h.call('root', 'POST', '/groups/sre-oncall/members', { user: 'hal' });
    expect(r.status).toBe(200);
    expect(r.body.user.groups).toEqual(['sre-oncall']);
  });

  test('errors: duplicate 409, bad names 400, unknown group or user 404', async () => {
    await h.call('root', 'POST', '/groups', { name: 'dup' });
    expect((await h.call('root', 'POST', '/groups', { name: 'dup' })).body).toEqual({ code: 'ERR_CONFLICT', message: 'group "dup" already exists' });
    expect((await h.call('root', 'POST', '/groups', { name: 'has space' })).body).toMatchObject({ code: 'ERR_BAD_REQUEST', field: 'name' });
    expect((await h.call('root', 'POST', '/groups', { name: 'x', description: 3 })).body).toEqual({ code: 'ERR_BAD_REQUEST', field: 'description', message: 'description must be a string' });
    expect((await h.call('root', 'POST', '/groups/system:masters/members', { user: 'hal' })).body).toMatchObject({ code: 'ERR_BAD_REQUEST', field: 'name' });
    expect((await h.call('root', 'POST', '/groups/dup/members', { user: 'nobody' })).status).toBe(404);
    expect((await h.call('root', 'POST', '/groups/dup/members', {})).body).toEqual({ code: 'ERR_BAD_REQUEST', field: 'user', message: 'user is required' });
    const missing = await h.call('root', 'DELETE', '/groups/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('group "nope" does not exist');
  });
});

describe('revocation', () => {
  test('revokes every certificate, ends sessions, answers with the count and time', async () => {
    await h.call('root', 'POST', '/users', { name: 'ivy', groups: ['dev'] });
    const creds = await h.cert('ivy');
    const issued = await h.call('root', 'POST', '/kubeconfigs', { user: 'ivy' });
    expect(issued.status).toBe(201);
    const session = await h.call('ivy', 'POST', '/sessions');
    expect(session.status).toBe(201);

    const before = h.now();
    const r = await h.call('root', 'POST', '/users/ivy/revoke');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ user: 'ivy', revokedCertificates: 2, credentialRevision: 1 });
    expect(Date.parse(r.body.revokedAt)).toBeGreaterThanOrEqual(before - 1);
    // In force: both certificates are refused by the view the edge reads.
    expect(h.access.isRevoked(creds.serial)).toBe(true);
    expect(h.access.isRevoked(issued.body.serial)).toBe(true);
    expect((await h.store.getSession(session.body.session.id))?.endedAt).toBeDefined();
    expect((await h.call('ivy', 'GET', '/whoami')).status).toBe(401);

    // Nothing left to revoke the second time.
    expect((await h.call('root', 'POST', '/users/ivy/revoke')).body.revokedCertificates).toBe(0);
  });
});
