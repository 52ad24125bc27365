/**
 * Console sessions (own sessions only) and the cluster list with the caller's access: a
 * policy with requireActiveSession lets kubectl through only while a session is active, so
 * starting and ending one changes what the edge decides, as soon as the API answers.
 */
import { ApiHarness, CLUSTERS } from './api-harness';

let h: ApiHarness;

beforeAll(async () => {
  h = await ApiHarness.start();
  await h.addUser('sam', []);
  await h.addUser('dana', ['dev']);
  await h.addUser('cora', ['contractors']);
});
afterAll(() => h.close());

describe('sessions', () => {
  test('start, touch and stop a session; activity is in force when the API answers', async () => {
    expect(h.access.evaluationContext('sam', h.now()).lastConsoleActivity).toBeUndefined();
    const started = await h.call('sam', 'POST', '/sessions');
    expect(started.status).toBe(201);
    const s = started.body.session;
    expect(s).toMatchObject({ id: expect.any(String), user: 'sam' });
    expect(s.endedAt).toBeUndefined();
    expect(h.access.evaluationContext('sam', h.now()).lastConsoleActivity).toBe(Date.parse(s.lastActiveAt));

    h.advance(60_000);
    const touched = await h.call('sam', 'POST', `/sessions/${s.id}/activity`);
    expect(touched.status).toBe(200);
    expect(Date.parse(touched.body.session.lastActiveAt) - Date.parse(s.lastActiveAt)).toBeGreaterThanOrEqual(60_000);
    expect(h.access.evaluationContext('sam', h.now()).lastConsoleActivity).toBe(Date.parse(touched.body.session.lastActiveAt));

    const stopped = await h.call('sam', 'DELETE', `/sessions/${s.id}`);
    expect(stopped.status).toBe(200);
    expect(stopped.body.session.endedAt).toEqual(expect.any(String));
    expect(h.access.evaluationContext('sam', h.now()).lastConsoleActivity).toBeUndefined();

    const again = await h.call('sam', 'POST', `/sessions/${s.id}/activity`);
    expect(again.status).toBe(409);
    expect(again.body.message).toBe(`console session "${s.id}" has ended; start a new one`);
  });

  test("someone else's session is 404, like one that does not exist", async () => {
    const s = (await h.call('sam', 'POST', '/sessions')).body.session;
    for (const [method, p] of [
      ['POST', `/sessions/${s.id}/activity`],
      ['DELETE', `/sessions/${s.id}`],
    ] as const) {
      const r = await h.call('dana', method, p);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ code: 'ERR_NOT_FOUND', message: `you have no console session "${s.id}"` });
    }
    expect((await h.store.getSession(s.id))?.endedAt).toBeUndefined();
    expect((await h.call('dana', 'DELETE', '/sessions/nope')).status).toBe(404);
  });
});

describe('clusters', () => {
  const mode = (body: { clusters: { name: string; access: { mode: string } }[] }) => Object.fromEntries(body.clusters.map((c) => [c.name, c.access.mode]));

  test("each registered cluster with its labels and the caller's access", async () => {
    const dana = await h.call('dana', 'GET', '/clusters');
    expect(dana.status).toBe(200);
    expect(dana.body.clusters.map((c: { name: string; labels: unknown }) => ({ name: c.name, labels: c.labels }))).toEqual(CLUSTERS.map((c) => ({ name: c.name, labels: c.labels })));
    expect(mode(dana.body)).toEqual({ alpha: 'kubectl', beta: 'none', gamma: 'none' });
    expect(dana.body.clusters[0].access).toEqual({ mode: 'kubectl', requiresActiveSession: false, clusterRoles: [{ name: 'edit' }], policies: ['dev-alpha'] });

    expect(mode((await h.call('cora', 'GET', '/clusters')).body)).toEqual({ alpha: 'none', beta: 'none', gamma: 'console-only' });
    expect(mode((await h.call('root', 'GET', '/clusters')).body)).toEqual({ alpha: 'kubectl', beta: 'kubectl', gamma: 'kubectl' });
  });

  test('a cluster that needs a console session says so', async () => {
    const sam = await h.call('sam', 'GET', '/clusters');
    const betaAccess = sam.body.clusters.find((c: { name: string }) => c.name === 'beta').access;
    expect(betaAccess).toMatchObject({ mode: 'kubectl', requiresActiveSession: true, policies: ['sam-beta-with-session'] });
  });
});

describe('clusters behind a firewall', () => {
  const record = (name: string, lastSeenAt: number) => ({
    name,
    labels: {},
    kubernetesVersion: 'v1.34.4',
    apiserverCaPem: '',
    apiserverHost: '',
    apiserverPort: 0,
    agentVersion: '0.1.0',
    agentCertificateSerial: '',
    registeredAt: h.now(),
    lastSeenAt,
  });

  test('a cluster its agent registered shows as tunnelled, with the agent\'s status judged by its last heartbeat', async () => {
    await h.store.upsertCluster(record('alpha', h.now()));
    await h.store.upsertCluster(record('beta', h.now() - 120_000));
    await h.store.upsertCluster(record('gamma', 0));
    try {
      const body = (await h.call('root', 'GET', '/clusters')).body as { clusters: { name: string; connection: string; agent?: { status: string; lastSeenAt?: string; kubernetesVersion: string } }[] };
      const byName = Object.fromEntries(body.clusters.map((c) => [c.name, c]));
      expect(byName.alpha!.connection).toBe('tunnel');
      expect(byName.alpha!.agent).toMatchObject({ status: 'connected', kubernetesVersion: 'v1.34.4' });
      expect(byName.beta!.agent!.status).toBe('disconnected');
      expect(Date.parse(byName.beta!.agent!.lastSeenAt!)).toBeLessThan(h.now() - 60_000);
      expect(byName.gamma!.agent).toEqual({ status: 'never-connected', kubernetesVersion: 'v1.34.4', agentVersion: '0.1.0' });
    } finally {
      for (const name of ['alpha', 'beta', 'gamma']) await h.store.deleteCluster(name);
    }
    const after = (await h.call('root', 'GET', '/clusters')).body as { clusters: { connection: string }[] };
    expect(after.clusters.every((c) => c.connection === 'direct')).toBe(true);
  });

  test('an administrator gets a one-time join token, stored only as a hash', async () => {
    const r = await h.call('root', 'POST', '/clusters/prod-eu/join-tokens', { ttl: '30m' });
    expect(r.status).toBe(201);
    expect(r.body.token).toMatch(/^[a-f0-9]{12}\.[A-Za-z0-9_-]{43}$/);
    expect(r.body.cluster).toBe('prod-eu');
    expect(Date.parse(r.body.expiresAt) - h.now()).toBeGreaterThan(29 * 60_000);
    const [stored] = await h.store.listJoinTokens({ cluster: 'prod-eu' });
    expect(stored!.id).toBe(r.body.id);
    expect(stored!.secretHash).not.toContain(r.body.token.split('.')[1]);
    expect(stored!.createdBy).toBe('root');
  });

  test.each([
    ['a non-administrator', 'dana', '/clusters/prod-eu/join-tokens', {}, 403, /only members of kubegate:admins/],
    ['a cluster name that is not a DNS label', 'root', '/clusters/Prod_EU/join-tokens', {}, 400, /cluster name "Prod_EU" must be a DNS label/],
    ['a ttl over 24h', 'root', '/clusters/prod-eu/join-tokens', { ttl: '48h' }, 400, /at most 24h; got 48h/],
    ['a ttl that is not a duration', 'root', '/clusters/prod-eu/join-tokens', { ttl: 'soon' }, 400, /soon/],
    ['an unknown field', 'root', '/clusters/prod-eu/join-tokens', { cluster: 'x' }, 400, /unknown field "cluster"/],
  ])('refuses %s', async (_what, caller, p, body, status, message) => {
    const before = (await h.store.listJoinTokens()).length;
    const r = await h.call(caller, 'POST', p, body);
    expect(r.status).toBe(status);
    expect(r.body.message).toMatch(message);
    expect((await h.store.listJoinTokens()).length).toBe(before);
  });
});
