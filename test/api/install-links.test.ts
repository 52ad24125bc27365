/**
 * Why: `kubegate cluster add` registers a cluster and hands out a one-time link; the admin
 * routes must refuse what they cannot honour with clear errors, and the install listener must
 * serve a link exactly once, before it expires, to a client that presents no certificate,
 * refusing everything else with 404 or 410 and never logging the secret. Real HTTPS, a real
 * SQLite store and the real construct; the clock is the harness's.
 */
import * as https from 'node:https';
import { parseAllDocuments } from 'yaml';
import { issueCertificate } from '../../control-plane/pki/certificates';
import { getFreePort } from '../../dev/process/free-port';
import { createLogger } from '../../control-plane/log/logger';
import { startInstallServer, type RunningInstallServer } from '../../control-plane/api/install-server';
import type { AgentInstallSettings } from '../../control-plane/api/agent-install-settings';
import { renderAgentManifest } from '../../control-plane/api/install-manifest';
import { ApiHarness } from './api-harness';

const HUB_CA = '-----BEGIN CERTIFICATE-----\nMIIBhubca\n-----END CERTIFICATE-----\n';
const INSTALL = {
  hubAgentEndpoint: 'hub.test.invalid:18003',
  hubCaPem: HUB_CA,
  images: { agent: 'reg.test.invalid/kubegate/agent@sha256:aaaa', envoy: 'reg.test.invalid/kubegate/envoy@sha256:bbbb' },
  allowedClusterRoles: ['view', 'edit'],
  publicUrl: '', // set once the install listener listens
  servingCaPem: 'harness-ca' as const,
};

let h: ApiHarness;
let bare: ApiHarness;
let install: RunningInstallServer;
let settings: AgentInstallSettings;
const logLines: string[] = [];

beforeAll(async () => {
  // The API needs the listener's URL and the listener needs the API's store: the port first.
  const port = await getFreePort();
  h = await ApiHarness.start({ agentInstall: { ...INSTALL, publicUrl: `https://127.0.0.1:${port}` } });
  settings = { ...INSTALL, publicUrl: `https://127.0.0.1:${port}`, servingCaPem: h.servingCa.certPem };
  install = await startInstallServer({
    tls: issueCertificate(h.servingCa, { commonName: 'install', ipAddresses: ['127.0.0.1'], usage: 'server', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) }),
    port,
    store: h.store,
    settings: () => settings,
    clock: () => h.now(),
    logger: createLogger('install', { sink: (line) => logLines.push(line) }),
  });
  await h.addUser('dana', ['dev']);
  bare = await ApiHarness.start();
});
afterAll(async () => {
  await install?.close();
  await h?.close();
  await bare?.close();
});

/** GET of a link without any client certificate, verifying the listener against `ca`. */
function fetchLink(url: string, ca: string | undefined): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...(ca ? { ca } : {}), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const add = (name: string, extra: Record<string, unknown> = {}) => h.call('root', 'POST', '/clusters', { name, ...extra });

describe('POST /clusters (cluster add)', () => {
  test('registers a never-connected cluster and answers with the link and the one line that fetches it', async () => {
    const r = await add('edge-one', { labels: { env: 'prod', 'kubegate.dev/tier': 'gold' }, ttl: '10m' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ cluster: 'edge-one', labels: { env: 'prod', 'kubegate.dev/tier': 'gold' }, images: INSTALL.images, caPem: h.servingCa.certPem });
    expect(r.body.url).toMatch(new RegExp(`^${install.url.replace(/\./g, '\\.')}/install/${r.body.tokenId}\\.[A-Za-z0-9_-]{43}$`));
    expect(Date.parse(r.body.expiresAt) - h.now()).toBeGreaterThan(9 * 60_000);
    expect(r.body.command).toBe(`SSL_CERT_FILE=<(printf -- '${h.servingCa.certPem.trim().split(/\r?\n/).join('\\n')}\\n') kubectl apply -f '${r.body.url}'`);
    expect(r.body.command).not.toContain('\n');
    expect(r.body.curlCommand).toMatch(/^curl -fsS --cacert <\(printf -- '-----BEGIN CERTIFICATE-----\\n.*'\) '.*' \| kubectl apply -f -$/);
    expect(await h.store.getCluster('edge-one')).toMatchObject({ labels: { env: 'prod', 'kubegate.dev/tier': 'gold' }, lastSeenAt: 0 });
    const [token] = await h.store.listInstallTokens({ cluster: 'edge-one' });
    expect(token).toMatchObject({ id: r.body.tokenId, createdBy: 'root', expiresAt: Date.parse(r.body.expiresAt) });
    expect(r.body.url).not.toContain(token!.secretHash);
  });

  test.each([
    ['a name that is no DNS label', { name: 'Edge_1' }, 'name', /cluster name "Edge_1" must be a DNS label/],
    ['a bad label key', { name: 'edge-x', labels: { 'bad key': 'x' } }, 'labels', /label key "bad key"/],
    ['a bad label value', { name: 'edge-x', labels: { env: 'not ok' } }, 'labels.env', /label value "not ok"/],
    ['a ttl over a day', { name: 'edge-x', ttl: '25h' }, 'ttl', /at least 1s and at most 24h; got 25h/],
    ['a ttl under a second', { name: 'edge-x', ttl: '500ms' }, 'ttl', /at least 1s/],
    ['a ttl that is no duration', { name: 'edge-x', ttl: 'soon' }, 'ttl', /./],
    ['an unknown field', { name: 'edge-x', images: {} }, 'images', /unknown field "images"/],
  ])('%s is 400 naming the field, and registers nothing', async (_what, body, field, message) => {
    const r = await h.call('root', 'POST', '/clusters', body);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'ERR_BAD_REQUEST', field });
    expect(r.body.message).toMatch(message);
    expect(await h.store.getCluster('edge-x')).toBeUndefined();
  });

  test('a registered cluster, or one the edge reaches directly, is 409; a non-admin is 403; a hub without agentInstall says so', async () => {
    await add('edge-two');
    const again = await add('edge-two');
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/cluster "edge-two" is already registered/);
    const direct = await add('alpha');
    expect(direct.status).toBe(409);
    expect(direct.body.message).toMatch(/kubegate cluster install-link alpha/);
    expect((await h.call('dana', 'POST', '/clusters', { name: 'edge-dana' })).status).toBe(403);
    const off = await bare.call('root', 'POST', '/clusters', { name: 'edge-off' });
    expect(off.status).toBe(501);
    expect(off.body).toMatchObject({ code: 'ERR_AGENT_INSTALL_NOT_CONFIGURED', message: expect.stringMatching(/no agentInstall section/) });
  });
});

describe('POST /clusters/NAME/install-tokens (cluster install-link)', () => {
  test('a new link for a registered cluster, with its labels; unknown and direct clusters are 404 with what to do', async () => {
    await add('edge-three', { labels: { env: 'dev' } });
    const r = await h.call('root', 'POST', '/clusters/edge-three/install-tokens', {});
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ cluster: 'edge-three', labels: { env: 'dev' } });
    expect((await h.store.listInstallTokens({ cluster: 'edge-three' })).length).toBe(2);
    const unknown = await h.call('root', 'POST', '/clusters/nowhere/install-tokens', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/kubegate cluster add nowhere/);
    expect((await h.call('root', 'POST', '/clusters/alpha/install-tokens', {})).body.message).toMatch(/reached directly/);
  });
});

describe('the install listener', () => {
  test('serves the manifest once, to a client without a certificate, verified against the serving CA', async () => {
    const { body: link } = await add('edge-four', { labels: { env: 'prod' } });
    logLines.length = 0;
    const first = await fetchLink(link.url, h.servingCa.certPem);
    expect(first.status).toBe(200);
    expect(first.type).toBe('application/yaml; charset=utf-8');
    const docs = parseAllDocuments(first.body).map((d) => d.toJSON() as { kind: string; metadata: { name: string }; stringData?: { token?: string } });
    const joinSecret = docs.find((d) => d.kind === 'Secret' && d.metadata.name === 'kubegate-join-token');
    const joinToken = joinSecret!.stringData!.token!;
    // Exactly the construct's output for these props, with the join token the hub made.
    expect(first.body).toBe(renderAgentManifest(settings, { cluster: 'edge-four', labels: { env: 'prod' }, joinToken }));
    const [stored] = await h.store.listJoinTokens({ cluster: 'edge-four' });
    expect(joinToken.startsWith(`${stored!.id}.`)).toBe(true);
    expect(stored!.expiresAt - stored!.createdAt).toBe(3_600_000);

    const second = await fetchLink(link.url, h.servingCa.certPem);
    expect(second.status).toBe(410);
    expect(second.body).toMatch(/^kubegate: install link [0-9a-f]{12} was already used; `kubegate cluster install-link CLUSTER` prints a new one\n$/);
    const secret = link.url.split('.').pop();
    expect(logLines.join('\n')).not.toContain(secret);
    expect(logLines.join('\n')).not.toContain(joinToken.split('.')[1]);
    expect(logLines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ msg: 'install link served', cluster: 'edge-four', token: link.tokenId }),
      expect.objectContaining({ msg: 'install link refused', reason: 'used', token: link.tokenId }),
    ]);
  });

  test('an expired link is 410; a wrong secret, an unknown or malformed token and other paths are 404', async () => {
    const { body: link } = await add('edge-five', { ttl: '1m' });
    h.advance(60_000);
    expect(await fetchLink(link.url, h.servingCa.certPem)).toMatchObject({ status: 410, body: expect.stringMatching(/has expired/) });
    const { body: other } = await add('edge-six');
    const wrong = other.url.replace(/\.[A-Za-z0-9_-]{43}$/, `.${'A'.repeat(43)}`);
    expect(await fetchLink(wrong, h.servingCa.certPem)).toMatchObject({ status: 404, body: expect.stringMatching(/^kubegate: no such install link/) });
    expect((await fetchLink(`${install.url}/install/0123456789ab.${'B'.repeat(43)}`, h.servingCa.certPem)).status).toBe(404);
    expect((await fetchLink(`${install.url}/install/not-a-token`, h.servingCa.certPem)).status).toBe(404);
    expect(await fetchLink(`${install.url}/api/v1/whoami`, h.servingCa.certPem)).toMatchObject({ status: 404, body: expect.stringMatching(/install links only/) });
    // A path that does not decode is refused, and the log does not repeat it.
    logLines.length = 0;
    const undecodable = await fetchLink(`${other.url}%zz`, h.servingCa.certPem);
    expect(undecodable).toMatchObject({ status: 400, body: expect.stringMatching(/^kubegate: bad request/) });
    expect(logLines.join('\n')).not.toContain(other.url.split('.').pop());
    expect(logLines.length).toBe(1);
    // The wrong secret did not spend the real link.
    expect((await fetchLink(other.url, h.servingCa.certPem)).status).toBe(200);
  });

  test('a client that does not trust the serving CA gets no answer, and the link stays unused', async () => {
    const { body: link } = await add('edge-seven');
    await expect(fetchLink(link.url, undefined)).rejects.toThrow(/self-signed|unable to verify|unknown/i);
    expect((await h.store.listInstallTokens({ cluster: 'edge-seven' }))[0]!.usedAt).toBeUndefined();
  });
});

describe('the CLI', () => {
  test('cluster add prints the one line first, then what it does and until when', async () => {
    const r = await h.cli('root', ['cluster', 'add', 'edge-cli', '--label', 'env=prod', '--label', 'region=eu-1', '--ttl', '5m']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^SSL_CERT_FILE=<\(printf -- '-----BEGIN CERTIFICATE-----\\n.*\) kubectl apply -f 'https:\/\/127\.0\.0\.1:\d+\/install\/[0-9a-f]{12}\.[A-Za-z0-9_-]{43}'$/);
    expect(r.stdout).toMatch(/installs kubegate's agent \(reg\.test\.invalid\/kubegate\/agent@sha256:aaaa\) for "edge-cli" with labels env=prod, region=eu-1; the link works once, until \d{4}-/);
    expect(r.stdout).toContain('#   curl -fsS --cacert');
    const json = await h.cli('root', ['cluster', 'install-link', 'edge-cli', '-o', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ cluster: 'edge-cli', labels: { env: 'prod', 'region': 'eu-1' } });
  });

  test.each([
    [['cluster', 'add', 'Bad_Name'], /cluster name "Bad_Name" must be a DNS label/],
    [['cluster', 'add', 'edge-z', '--label', 'env'], /--label "env" must be KEY=VALUE/],
    [['cluster', 'add', 'edge-z', '--label', 'bad key=x'], /"bad key" is not a label key/],
    [['cluster', 'add', 'edge-z', '--label', 'env=a', '--label', 'env=b'], /--label env is given twice/],
    [['cluster', 'add', 'edge-z', '--ttl', '48h'], /--ttl 48h is out of range/],
    [['cluster', 'add', 'edge-z', '--ttl', 'later'], /./],
    [['cluster', 'add'], /NAME/],
  ])('%j is a usage error before anything is sent', async (args, message) => {
    const r = await h.cli('root', args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(await h.store.getCluster('edge-z')).toBeUndefined();
  });

  test('an existing cluster is named in the error', async () => {
    await add('edge-dup');
    const r = await h.cli('root', ['cluster', 'add', 'edge-dup']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cluster "edge-dup" is already registered/);
  });
});
