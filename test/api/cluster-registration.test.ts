/**
 * Why: a Pulumi program (or `kubegate cluster register|show|remove`) manages a member cluster
 * as a resource: PUT /clusters/NAME registers it for an agent to join, without an install link
 * or the hub's agentInstall settings, or sets its labels, idempotently; GET reads it back (so
 * drift shows); DELETE deregisters it, with its join tokens and install links. Clusters the
 * controller reaches directly are refused, and every bad input is named. Real HTTPS, a real
 * SQLite store and the real CLI; the harness has no agentInstall, so nothing here needs it.
 */
import { ApiHarness } from './api-harness';

let h: ApiHarness;

beforeAll(async () => {
  h = await ApiHarness.start();
  await h.addUser('dana', ['dev']);
});
afterAll(async () => {
  await h?.close();
});

const put = (name: string, body: unknown, as = 'root') => h.call(as, 'PUT', `/clusters/${name}`, body);
const ADMIN_ACCESS = { mode: 'kubectl', requiresActiveSession: false, clusterRoles: [{ name: 'cluster-admin' }], policies: ['admins-everywhere'] };

describe('PUT /clusters/NAME', () => {
  test('registers a never-connected cluster (201), then sets its labels (200); the same PUT again changes nothing', async () => {
    const created = await put('edge-eu', { labels: { region: 'eu-1', env: 'prod' } });
    expect(created.status).toBe(201);
    const registeredAt = created.body.cluster.registeredAt as string;
    expect(Math.abs(Date.parse(registeredAt) - h.now())).toBeLessThan(60_000);
    expect(created.body).toEqual({
      cluster: {
        name: 'edge-eu',
        labels: { env: 'prod', region: 'eu-1' },
        connection: 'tunnel',
        registeredAt,
        agent: { status: 'never-connected', kubernetesVersion: '', agentVersion: '' },
        access: ADMIN_ACCESS,
      },
    });
    // Neither an install link nor a join token comes with it.
    expect(await h.store.listInstallTokens({ cluster: 'edge-eu' })).toEqual([]);
    expect(await h.store.listJoinTokens({ cluster: 'edge-eu' })).toEqual([]);

    const again = await put('edge-eu', { labels: { env: 'prod', region: 'eu-1' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(created.body);

    h.advance(60_000);
    const relabelled = await put('edge-eu', { labels: { env: 'staging' } });
    expect(relabelled.status).toBe(200);
    expect(relabelled.body.cluster).toMatchObject({ labels: { env: 'staging' }, registeredAt });
    expect((await h.store.getCluster('edge-eu'))!.labels).toEqual({ env: 'staging' });
    expect((await put('edge-eu', { labels: {} })).body.cluster.labels).toEqual({});
  });

  test.each([
    ['a non-administrator', 'dana', 'edge-x', { labels: {} }, 403, 'ERR_FORBIDDEN', /only members of kubegate:admins may PUT \/api\/v1\/clusters\/edge-x/],
    ['a cluster name that is not a DNS label', 'root', 'Edge_X', { labels: {} }, 400, 'ERR_BAD_REQUEST', /cluster name "Edge_X" must be a DNS label/],
    ['no labels', 'root', 'edge-x', {}, 400, 'ERR_BAD_REQUEST', /labels is required/],
    ['null labels', 'root', 'edge-x', { labels: null }, 400, 'ERR_BAD_REQUEST', /labels is required/],
    ['labels that are a list', 'root', 'edge-x', { labels: ['env=prod'] }, 400, 'ERR_BAD_REQUEST', /labels must be an object/],
    ['a bad label key', 'root', 'edge-x', { labels: { 'bad key': 'x' } }, 400, 'ERR_BAD_REQUEST', /label key "bad key" must be/],
    ['a bad label value', 'root', 'edge-x', { labels: { env: 'not ok' } }, 400, 'ERR_BAD_REQUEST', /label value "not ok" must be/],
    ['an unknown field', 'root', 'edge-x', { labels: {}, ttl: '1h' }, 400, 'ERR_BAD_REQUEST', /unknown field "ttl"/],
    ['a cluster the controller reaches directly', 'root', 'alpha', { labels: {} }, 409, 'ERR_CONFLICT', /cluster "alpha" is reached directly, as the controller's configuration registers it/],
  ])('refuses %s, and registers nothing', async (_what, caller, name, body, status, code, message) => {
    const r = await put(name, body, caller);
    expect({ status: r.status, code: r.body.code }).toEqual({ status, code });
    expect(r.body.message).toMatch(message);
    expect((await h.store.listClusters()).map((c) => c.name)).not.toContain(name);
  });
});

describe('GET /clusters/NAME', () => {
  test('shows a registered cluster to anyone, with their own access; a direct one as direct; an unknown one is 404', async () => {
    await put('edge-get', { labels: { env: 'prod' } });
    const asDana = await h.call('dana', 'GET', '/clusters/edge-get');
    expect(asDana.status).toBe(200);
    expect(asDana.body.cluster).toMatchObject({ name: 'edge-get', labels: { env: 'prod' }, connection: 'tunnel', agent: { status: 'never-connected' } });
    expect(asDana.body.cluster.access).toEqual({ mode: 'none', requiresActiveSession: false, clusterRoles: [], policies: [] });
    expect((await h.call('root', 'GET', '/clusters/edge-get')).body.cluster.access).toEqual(ADMIN_ACCESS);

    // What its agent reported shows as it does in the list.
    const record = (await h.store.getCluster('edge-get'))!;
    const seen = h.now();
    await h.store.upsertCluster({ ...record, kubernetesVersion: 'v1.34.4', agentVersion: '0.1.0', lastSeenAt: seen });
    const connected = await h.call('root', 'GET', '/clusters/edge-get');
    expect(connected.body.cluster.agent).toEqual({ status: 'connected', lastSeenAt: new Date(seen).toISOString(), kubernetesVersion: 'v1.34.4', agentVersion: '0.1.0' });
    expect(connected.body.cluster.registeredAt).toBe(new Date(record.registeredAt).toISOString());

    const direct = await h.call('dana', 'GET', '/clusters/alpha');
    expect(direct.body).toEqual({ cluster: { name: 'alpha', labels: { env: 'dev' }, connection: 'direct', access: { mode: 'kubectl', requiresActiveSession: false, clusterRoles: [{ name: 'edit' }], policies: ['dev-alpha'] } } });

    const unknown = await h.call('dana', 'GET', '/clusters/nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ code: 'ERR_NOT_FOUND', message: 'cluster "nowhere" is not registered; `kubegate cluster list` lists the clusters there are' });
    expect((await h.call('dana', 'GET', '/clusters/No_Such')).status).toBe(400);
  });
});

describe('DELETE /clusters/NAME', () => {
  test('deregisters the cluster with its join tokens and install links; a second time it is 404', async () => {
    await put('edge-del', { labels: {} });
    await put('edge-keep', { labels: {} });
    expect((await h.call('root', 'POST', '/clusters/edge-del/join-tokens', {})).status).toBe(201);
    expect((await h.call('root', 'POST', '/clusters/edge-keep/join-tokens', {})).status).toBe(201);

    const r = await h.call('root', 'DELETE', '/clusters/edge-del');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ deleted: 'edge-del' });
    expect(await h.store.getCluster('edge-del')).toBeUndefined();
    expect(await h.store.listJoinTokens({ cluster: 'edge-del' })).toEqual([]);
    expect(await h.store.listJoinTokens({ cluster: 'edge-keep' })).toHaveLength(1);
    expect((await h.call('root', 'GET', '/clusters/edge-del')).status).toBe(404);

    const again = await h.call('root', 'DELETE', '/clusters/edge-del');
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ code: 'ERR_NOT_FOUND', message: 'cluster "edge-del" is not registered' });

    // Registered again, it starts afresh.
    const back = await put('edge-del', { labels: { env: 'dev' } });
    expect(back.status).toBe(201);
    expect(back.body.cluster.agent.status).toBe('never-connected');
  });

  test.each([
    ['a non-administrator', 'dana', 'edge-keep', undefined, 403, /only members of kubegate:admins may DELETE/],
    ['a cluster the controller reaches directly', 'root', 'alpha', undefined, 409, /cluster "alpha" is reached directly, .*remove it from that configuration instead/],
    ['a body with fields', 'root', 'edge-keep', { force: true }, 400, /unknown field "force"/],
  ])('refuses %s, and deletes nothing', async (_what, caller, name, body, status, message) => {
    // With its length given: Node's server refuses a DELETE with a chunked body before Fastify sees it.
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const r = await h.call(caller, 'DELETE', `/clusters/${name}`, payload, payload === undefined ? {} : { 'content-length': String(Buffer.byteLength(payload)) });
    expect(r.status).toBe(status);
    expect(r.body.message).toMatch(message);
    expect(await h.store.getCluster('edge-keep')).toBeDefined();
  });
});

test('a method the cluster path does not take is 405, naming those it does', async () => {
  const r = await h.call('root', 'PATCH', '/clusters/edge-keep', { labels: {} });
  expect(r.status).toBe(405);
  expect(r.body.code).toBe('ERR_METHOD_NOT_ALLOWED');
});

describe('the CLI', () => {
  test('cluster register, show and remove', async () => {
    const registered = await h.cli('root', ['cluster', 'register', 'edge-cli', '--label', 'env=prod', '--label', 'region=eu-1']);
    expect(registered).toEqual({ code: 0, stdout: 'cluster edge-cli is registered (labels: env=prod,region=eu-1; agent: never-connected)\n', stderr: '' });
    expect((await h.cli('root', ['cluster', 'register', 'edge-cli', '--label', 'env=prod', '--label', 'region=eu-1'])).code).toBe(0);

    const shown = await h.cli('dana', ['cluster', 'show', 'edge-cli']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      /^name:\s+edge-cli\nconnection:\s+tunnel\nlabels:\s+env=prod,region=eu-1\nregistered:\s+\d{4}-\d\d-\d\dT\S+Z\nagent:\s+never-connected\nlast seen:\s+-\nkubernetes version:\s+-\nagent version:\s+-\naccess:\s+none\ncluster roles:\s+-\npolicies:\s+-\n$/,
    );
    const json = JSON.parse((await h.cli('root', ['cluster', 'show', 'edge-cli', '-o', 'json'])).stdout);
    expect(json.cluster).toMatchObject({ name: 'edge-cli', labels: { env: 'prod', region: 'eu-1' }, access: ADMIN_ACCESS });
    expect((await h.cli('dana', ['cluster', 'show', 'alpha'])).stdout).toMatch(/^name:\s+alpha\nconnection:\s+direct\nlabels:\s+env=dev\naccess:\s+kubectl\ncluster roles:\s+edit\npolicies:\s+dev-alpha\n$/);

    const relabelled = await h.cli('root', ['cluster', 'register', 'edge-cli', '-o', 'json']);
    expect(JSON.parse(relabelled.stdout).cluster.labels).toEqual({});

    const removed = await h.cli('root', ['cluster', 'remove', 'edge-cli']);
    expect(removed).toEqual({ code: 0, stdout: 'deregistered cluster edge-cli; its agent is disconnected and can no longer connect\n', stderr: '' });
    const gone = await h.cli('root', ['cluster', 'show', 'edge-cli']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('cluster "edge-cli" is not registered');
    const refused = await h.cli('dana', ['cluster', 'remove', 'edge-keep']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('only members of kubegate:admins');
  });

  test.each([
    [['cluster', 'register', 'Bad_Name'], /cluster name "Bad_Name" must be a DNS label/],
    [['cluster', 'register', 'edge-z', '--label', 'env'], /--label "env" must be KEY=VALUE/],
    [['cluster', 'register', 'edge-z', '--label', 'env=a', '--label', 'env=b'], /--label env is given twice/],
    [['cluster', 'register', 'edge-z', '--ttl', '1h'], /Unknown option '--ttl'/],
    [['cluster', 'register'], /NAME is required/],
    [['cluster', 'show', 'edge-z', '-o', 'yaml'], /-o yaml is not an output format here; use table or json/],
    [['cluster', 'show', 'Bad_Name'], /cluster name "Bad_Name" must be a DNS label/],
    [['cluster', 'remove'], /NAME is required/],
    [['cluster', 'remove', 'edge-z', 'edge-y'], /unexpected argument "edge-y"/],
  ])('%j is a usage error (exit 2) before anything is sent', async (args, message) => {
    const r = await h.cli('root', args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(await h.store.getCluster('edge-z')).toBeUndefined();
  });

  test('cluster --help lists the new subcommands', async () => {
    const r = await h.cli(null, ['cluster', '--help']);
    for (const sub of ['show', 'register', 'remove']) expect(r.stdout).toMatch(new RegExp(`^  ${sub}\\s+\\S`, 'm'));
    const help = await h.cli(null, ['cluster', 'remove', '--help']);
    expect(help.stdout).toMatch(/^Usage: kubegate cluster remove NAME/);
  });
});
