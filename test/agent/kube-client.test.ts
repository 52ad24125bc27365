/**
 * The agent's Kubernetes client against a real kube-apiserver: every call and every failure
 * path (404, 409 AlreadyExists and Conflict, 401, 403, 422, refused connection, timeout, wrong
 * CA, an answer that is not JSON, unreadable credentials, bad configuration).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeClient } from '../../agent/kubernetes/kube-client';
import {
  KubeAlreadyExistsError,
  KubeApiError,
  KubeClientConfigError,
  KubeConflictError,
  KubeConnectionError,
  KubeCredentialsError,
  KubeForbiddenError,
  KubeInvalidError,
  KubeNotFoundError,
  KubeProtocolError,
  KubeTimeoutError,
  KubeTlsError,
  KubeUnauthorizedError,
} from '../../agent/kubernetes/kube-errors';
import type { KubeObject } from '../../agent/kubernetes/kube-objects';
import { namespacePath, serviceAccountPath } from '../../agent/kubernetes/kube-paths';
import { createCertificateAuthority } from '../../control-plane/pki/certificates';
import { getFreePort } from '../../dev/process/free-port';
import { loadToolchain } from '../../dev/toolchain/tools';
import { applyManifests, namespace, rejection, startAgentTestCluster, whoAmI, type AgentTestCluster } from './support/agent-test-cluster';

jest.setTimeout(120_000);

let env: AgentTestCluster;
let admin: KubeClient;
const tempDirs: string[] = [];

beforeAll(async () => {
  env = await startAgentTestCluster('kube-client');
  admin = env.admin;
  await applyManifests(admin, [namespace('client-test')]);
  for (const name of ['one', 'two']) {
    await admin.create(serviceAccountPath('client-test'), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } });
  }
});

afterAll(async () => {
  await env?.stop();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const configMapPath = (name?: string) => `/api/v1/namespaces/client-test/configmaps${name ? `/${name}` : ''}`;
const configMap = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'client-test', labels },
  data,
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-kube-client-'));
  tempDirs.push(dir);
  return dir;
}

describe('calls', () => {
  test('serverVersion() is the apiserver gitVersion', async () => {
    expect(await admin.serverVersion()).toBe(`v${loadToolchain().versions.kubernetes}`);
  });

  test('create, get, replace, delete round-trip and return the apiserver objects', async () => {
    const created = await admin.create<KubeObject>(configMapPath(), configMap('round-trip', { a: '1' }));
    expect(created.metadata).toMatchObject({ name: 'round-trip', namespace: 'client-test', uid: expect.any(String) });

    const got = await admin.get<KubeObject & { data: Record<string, string> }>(configMapPath('round-trip'));
    expect(got.data).toEqual({ a: '1' });

    const replaced = await admin.replace<KubeObject & { data: Record<string, string> }>(configMapPath('round-trip'), { ...got, data: { a: '2' } });
    expect(replaced.data).toEqual({ a: '2' });
    expect(replaced.metadata.resourceVersion).not.toBe(got.metadata.resourceVersion);

    const deleted = await admin.delete<{ kind: string }>(configMapPath('round-trip'));
    expect(deleted.kind).toBe('Status');
    expect(await rejection(() => admin.get(configMapPath('round-trip')))).toBeInstanceOf(KubeNotFoundError);
  });

  test('list() filters by label selector and follows continue tokens across pages', async () => {
    for (let i = 0; i < 5; i++) await admin.create(configMapPath(), configMap(`paged-${i}`, {}, { paged: 'yes' }));
    await admin.create(configMapPath(), configMap('not-paged', {}, { paged: 'no' }));

    const list = await admin.list(configMapPath(), { labelSelector: 'paged=yes', pageSize: 2 });
    expect(list.items.map((i) => i.metadata.name).sort()).toEqual(['paged-0', 'paged-1', 'paged-2', 'paged-3', 'paged-4']);
    expect(list.metadata.continue).toBeUndefined();

    const all = await admin.list(configMapPath(), { labelSelector: 'paged' });
    expect(all.items).toHaveLength(6);
  });

  test('delete() with a stale resourceVersion precondition is a Conflict and deletes nothing', async () => {
    const created = await admin.create<KubeObject>(configMapPath(), configMap('precondition'));
    await admin.replace(configMapPath('precondition'), { ...created, data: { changed: 'yes' } });
    const err = await rejection(() => admin.delete(configMapPath('precondition'), { preconditions: { resourceVersion: created.metadata.resourceVersion } }));
    expect(err).toBeInstanceOf(KubeConflictError);
    expect(await admin.get<KubeObject>(configMapPath('precondition'))).toMatchObject({ metadata: { name: 'precondition' } });
  });

  test('requestServiceAccountToken() returns a token the apiserver accepts for that ServiceAccount, and its expiry', async () => {
    const { token, expiresAt } = await admin.requestServiceAccountToken('client-test', 'one', { expirationSeconds: 3600 });
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { exp: number; iat: number; sub: string };
    expect(claims.sub).toBe('system:serviceaccount:client-test:one');
    expect(claims.exp - claims.iat).toBe(3600);
    expect(expiresAt.getTime()).toBe(claims.exp * 1000);

    const asOne = env.client({ credentials: { kind: 'token', token } });
    expect((await whoAmI(asOne)).username).toBe('system:serviceaccount:client-test:one');
  });

  test('requestServiceAccountToken() with audiences issues a token for them, which the apiserver itself refuses', async () => {
    const { token } = await admin.requestServiceAccountToken('client-test', 'one', { expirationSeconds: 3600, audiences: ['kubegate-proxy'] });
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { aud: string[] };
    expect(claims.aud).toEqual(['kubegate-proxy']);
    const err = await rejection(() => whoAmI(env.client({ credentials: { kind: 'token', token } })));
    expect(err).toBeInstanceOf(KubeUnauthorizedError);
  });

  test('a token file is re-read when it is replaced, as a rotated projected token is', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'token');
    const one = await admin.requestServiceAccountToken('client-test', 'one', { expirationSeconds: 3600 });
    const two = await admin.requestServiceAccountToken('client-test', 'two', { expirationSeconds: 3600 });
    fs.writeFileSync(file, `${one.token}\n`);
    const client = env.client({ credentials: { kind: 'token-file', path: file } });
    expect((await whoAmI(client)).username).toBe('system:serviceaccount:client-test:one');
    expect((await whoAmI(client)).username).toBe('system:serviceaccount:client-test:one');

    // The kubelet swaps the file atomically; a rename does the same.
    fs.writeFileSync(path.join(dir, 'token.new'), two.token);
    fs.renameSync(path.join(dir, 'token.new'), file);
    expect((await whoAmI(client)).username).toBe('system:serviceaccount:client-test:two');
  });

  test('close() drops kept-alive connections; the client still works afterwards', async () => {
    const client = env.client({ credentials: { kind: 'client-certificate', ...env.cluster.adminCredentials } });
    await client.serverVersion();
    client.close();
    expect(await client.serverVersion()).toMatch(/^v1\./);
  });
});

describe('answers from the apiserver become typed errors', () => {
  test('404: KubeNotFoundError with the Status reason and message', async () => {
    const err = (await rejection(() => admin.get(namespacePath('does-not-exist')))) as KubeNotFoundError;
    expect(err).toBeInstanceOf(KubeNotFoundError);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ code: 'ERR_KUBE_NOT_FOUND', status: 404, reason: 'NotFound', method: 'GET', path: '/api/v1/namespaces/does-not-exist' });
    expect(err.kubeMessage).toBe('namespaces "does-not-exist" not found');
    expect(err.details).toMatchObject({ name: 'does-not-exist', kind: 'namespaces' });
  });

  test('409 AlreadyExists: KubeAlreadyExistsError', async () => {
    await admin.create(configMapPath(), configMap('twice'));
    const err = (await rejection(() => admin.create(configMapPath(), configMap('twice')))) as KubeAlreadyExistsError;
    expect(err).toBeInstanceOf(KubeAlreadyExistsError);
    expect(err).toMatchObject({ code: 'ERR_KUBE_ALREADY_EXISTS', status: 409, reason: 'AlreadyExists' });
  });

  test('409 Conflict on a replace with a stale resourceVersion: KubeConflictError', async () => {
    const created = await admin.create<KubeObject>(configMapPath(), configMap('stale'));
    await admin.replace(configMapPath('stale'), { ...created, data: { first: 'write' } });
    const err = (await rejection(() => admin.replace(configMapPath('stale'), { ...created, data: { second: 'write' } }))) as KubeConflictError;
    expect(err).toBeInstanceOf(KubeConflictError);
    expect(err).toMatchObject({ code: 'ERR_KUBE_CONFLICT', status: 409, reason: 'Conflict' });
    expect(err.kubeMessage).toContain('the object has been modified');
  });

  test('403: KubeForbiddenError for an identity RBAC grants nothing', async () => {
    const nobody = env.client({ credentials: { kind: 'client-certificate', ...env.cluster.issueClientCertificate('nobody', []) } });
    const err = (await rejection(() => nobody.list(namespacePath()))) as KubeForbiddenError;
    expect(err).toBeInstanceOf(KubeForbiddenError);
    expect(err).toMatchObject({ code: 'ERR_KUBE_FORBIDDEN', status: 403, reason: 'Forbidden' });
    expect(err.kubeMessage).toContain('User "nobody" cannot list resource "namespaces"');
  });

  test('401: KubeUnauthorizedError for a token the apiserver does not know', async () => {
    const stranger = env.client({ credentials: { kind: 'token', token: 'not-a-real-token' } });
    const err = (await rejection(() => stranger.get(namespacePath('default')))) as KubeUnauthorizedError;
    expect(err).toBeInstanceOf(KubeUnauthorizedError);
    expect(err).toMatchObject({ code: 'ERR_KUBE_UNAUTHORIZED', status: 401, reason: 'Unauthorized' });
  });

  test('422: KubeInvalidError for an object that fails validation', async () => {
    const err = (await rejection(() => admin.create(configMapPath(), configMap('Not_A_Valid_Name')))) as KubeInvalidError;
    expect(err).toBeInstanceOf(KubeInvalidError);
    expect(err).toMatchObject({ code: 'ERR_KUBE_INVALID', status: 422, reason: 'Invalid' });
    expect(err.details?.causes?.[0]).toMatchObject({ field: 'metadata.name' });
  });

  test('422: a TokenRequest shorter than the 10 minute minimum', async () => {
    const err = await rejection(() => admin.requestServiceAccountToken('client-test', 'one', { expirationSeconds: 60 }));
    expect(err).toBeInstanceOf(KubeInvalidError);
  });

  test('other statuses are a plain KubeApiError with the status (405 for a verb the resource lacks)', async () => {
    const err = (await rejection(() => admin.create('/version', {}))) as KubeApiError;
    expect(err.constructor).toBe(KubeApiError);
    expect(err.code).toBe('ERR_KUBE_API');
    expect(err.status).toBeGreaterThanOrEqual(400);
    expect(err.message).toContain(`HTTP ${err.status}`);
  });

  test('a 2xx answer that is not JSON: KubeProtocolError', async () => {
    const err = await rejection(() => admin.get('/healthz'));
    expect(err).toBeInstanceOf(KubeProtocolError);
    expect((err as KubeProtocolError).code).toBe('ERR_KUBE_PROTOCOL');
    expect((err as Error).message).toContain('"ok"');
  });
});

describe('failures before an answer', () => {
  test('nothing listening: KubeConnectionError with ECONNREFUSED', async () => {
    const port = await getFreePort();
    const client = env.client({ server: `https://127.0.0.1:${port}`, credentials: { kind: 'token', token: 'x' } });
    const err = (await rejection(() => client.serverVersion())) as KubeConnectionError;
    expect(err).toBeInstanceOf(KubeConnectionError);
    expect(err).toMatchObject({ code: 'ERR_KUBE_CONNECTION', causeCode: 'ECONNREFUSED', server: `https://127.0.0.1:${port}` });
  });

  test('a server certificate from another CA: KubeTlsError', async () => {
    const foreign = createCertificateAuthority({ commonName: 'someone-else', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });
    const client = env.client({ caPem: foreign.certPem, credentials: { kind: 'client-certificate', ...env.cluster.adminCredentials } });
    const err = (await rejection(() => client.serverVersion())) as KubeTlsError;
    expect(err).toBeInstanceOf(KubeTlsError);
    expect(err.code).toBe('ERR_KUBE_TLS');
    expect(err.causeCode).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
  });

  test('a server name that does not resolve: KubeConnectionError', async () => {
    // .invalid never resolves (RFC 2606); without DNS at all the lookup fails with EAI_AGAIN.
    const client = env.client({ server: 'https://kube-apiserver.invalid:6443', credentials: { kind: 'token', token: 'x' } });
    const err = (await rejection(() => client.serverVersion())) as KubeConnectionError;
    expect(err).toBeInstanceOf(KubeConnectionError);
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(err.causeCode);
  });

  test('an answer that does not complete in time (a watch held open by the apiserver): KubeTimeoutError', async () => {
    const client = env.client({ timeoutMs: 500, credentials: { kind: 'client-certificate', ...env.cluster.adminCredentials } });
    const err = (await rejection(() => client.get('/api/v1/namespaces/client-test/configmaps?watch=true&timeoutSeconds=60'))) as KubeTimeoutError;
    expect(err).toBeInstanceOf(KubeTimeoutError);
    expect(err).toMatchObject({ code: 'ERR_KUBE_TIMEOUT', timeoutMs: 500, method: 'GET' });
    // The client is still usable after a timed-out request.
    expect(await client.serverVersion()).toMatch(/^v1\./);
  });

  test('a token file that is missing or empty: KubeCredentialsError', async () => {
    const dir = tempDir();
    const missing = env.client({ credentials: { kind: 'token-file', path: path.join(dir, 'absent') } });
    const err = (await rejection(() => missing.serverVersion())) as KubeCredentialsError;
    expect(err).toBeInstanceOf(KubeCredentialsError);
    expect(err.code).toBe('ERR_KUBE_CREDENTIALS');
    expect(err.message).toContain(path.join(dir, 'absent'));

    fs.writeFileSync(path.join(dir, 'empty'), '\n');
    const empty = env.client({ credentials: { kind: 'token-file', path: path.join(dir, 'empty') } });
    expect(await rejection(() => empty.serverVersion())).toBeInstanceOf(KubeCredentialsError);
  });
});

describe('configuration', () => {
  const caPem = () => env.cluster.caPem;
  const token = { kind: 'token' as const, token: 'x' };

  test.each([
    ['an http URL', () => new KubeClient({ server: 'http://127.0.0.1:6443', caPem: caPem(), credentials: token })],
    ['not a URL', () => new KubeClient({ server: 'localhost:6443', caPem: caPem(), credentials: token })],
    ['credentials in the URL', () => new KubeClient({ server: 'https://u:p@127.0.0.1:6443', caPem: caPem(), credentials: token })],
    ['no CA', () => new KubeClient({ server: 'https://127.0.0.1:6443', caPem: '', credentials: token })],
    ['a CA that is not a certificate', () => new KubeClient({ server: 'https://127.0.0.1:6443', caPem: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n', credentials: token })],
    ['a client key that does not parse', () => new KubeClient({ server: 'https://127.0.0.1:6443', caPem: caPem(), credentials: { kind: 'client-certificate', certPem: env.cluster.adminCredentials.certPem, keyPem: 'garbage' } })],
    ['a token with a line break', () => new KubeClient({ server: 'https://127.0.0.1:6443', caPem: caPem(), credentials: { kind: 'token', token: 'a\r\nX-Evil: 1' } })],
    ['a zero timeout', () => new KubeClient({ server: 'https://127.0.0.1:6443', caPem: caPem(), credentials: token, timeoutMs: 0 })],
  ])('%s is a KubeClientConfigError', (_what, make) => {
    expect(make).toThrow(KubeClientConfigError);
  });

  test('a relative request path is refused before anything is sent', async () => {
    const err = await rejection(() => admin.get('api/v1/namespaces'));
    expect(err).toBeInstanceOf(KubeClientConfigError);
    expect((err as KubeClientConfigError).code).toBe('ERR_KUBE_CLIENT_CONFIG');
  });
});
