/**
 * Kubeconfigs issued through the admin API: contexts are the clusters the user may reach with
 * kubectl, each entry names the user's own TLS server name, the certificate is recorded (and so
 * revocable) before it is handed out, and a user with nothing to reach gets a 403 saying so.
 */
import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { userServerName } from '../../control-plane/identity/user-identity';
import { ApiHarness, EDGE_URL, SUFFIX } from './api-harness';
import type { EdgeConfirmation } from '../../control-plane/access-state/access-state';

let h: ApiHarness;

beforeAll(async () => {
  h = await ApiHarness.start();
  await h.addUser('dana', ['dev']);
  await h.addUser('cora', ['contractors']);
  await h.addUser('nick', []);
  await h.addUser('sam', []);
});
afterAll(() => h.close());

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, string> }[];
  users: { name: string; user: Record<string, string> }[];
  contexts: { name: string }[];
  'current-context': string;
}

describe('issuing', () => {
  test('an administrator issues one for a user: one context per kubectl cluster, recorded, with the server name', async () => {
    const before = h.now();
    const r = await h.call('root', 'POST', '/kubeconfigs', { user: 'dana', ttl: '2h' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ user: 'dana', clusters: ['alpha'], notes: [] });
    const doc = parse(r.body.kubeconfig) as Kubeconfig;
    expect(doc.contexts.map((c) => c.name)).toEqual(['alpha']);
    expect(doc['current-context']).toBe('alpha');
    expect(doc.clusters[0]!.cluster).toEqual({
      server: `${EDGE_URL}/clusters/alpha`,
      'certificate-authority-data': Buffer.from(h.servingCa.certPem).toString('base64'),
      'tls-server-name': userServerName('dana', SUFFIX),
    });
    const cert = new X509Certificate(Buffer.from(doc.users[0]!.user['client-certificate-data']!, 'base64').toString());
    expect(cert.subjectAltName).toBe('URI:kubegate://user/dana');
    expect(cert.verify(new X509Certificate(h.userCa.certPem).publicKey)).toBe(true);
    const notAfter = Date.parse(r.body.notAfter);
    expect(notAfter).toBe(new Date(cert.validTo).getTime());
    expect(notAfter - before).toBeGreaterThan(2 * 3_600_000 - 5_000);
    expect(notAfter - before).toBeLessThanOrEqual(2 * 3_600_000 + 1_000);

    // Recorded before it was returned: the store knows the serial.
    const certificates = await h.store.listCertificates('dana');
    expect(certificates.map((c) => c.serial)).toContain(r.body.serial);
    expect(r.body.serial).toBe(cert.serialNumber.toLowerCase().replace(/^0+/, ''));
  });

  test('the issued certificate works against the API, and stops working once revoked', async () => {
    const r = await h.call('root', 'POST', '/kubeconfigs', { user: 'dana' });
    const doc = parse(r.body.kubeconfig) as Kubeconfig;
    const pair = {
      certPem: Buffer.from(doc.users[0]!.user['client-certificate-data']!, 'base64').toString(),
      keyPem: Buffer.from(doc.users[0]!.user['client-key-data']!, 'base64').toString(),
    };
    expect((await h.call(pair, 'GET', '/whoami')).body).toMatchObject({ user: 'dana', serial: r.body.serial });
    await h.call('root', 'POST', '/users/dana/revoke');
    expect((await h.call(pair, 'GET', '/whoami')).status).toBe(401);
    h.credentials.delete('dana');
  });

  test('administrators get every cluster', async () => {
    const r = await h.call('root', 'POST', '/kubeconfigs', {});
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ user: 'root', clusters: ['alpha', 'beta', 'gamma'] });
  });

  test('a user renews their own', async () => {
    const r = await h.call('dana', 'POST', '/kubeconfigs', { ttl: '30m' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ user: 'dana', clusters: ['alpha'] });
    const same = await h.call('dana', 'POST', '/kubeconfigs', { user: 'dana' });
    expect(same.status).toBe(201);
  });

  test('--cluster limits the contexts', async () => {
    const r = await h.call('root', 'POST', '/kubeconfigs', { clusters: ['beta', 'gamma'] });
    expect(r.body.clusters).toEqual(['beta', 'gamma']);
    expect((parse(r.body.kubeconfig) as Kubeconfig).contexts.map((c) => c.name)).toEqual(['beta', 'gamma']);
  });

  test('asked for reachable and unreachable clusters: the reachable ones, and a note about the rest', async () => {
    const r = await h.call('root', 'POST', '/kubeconfigs', { user: 'dana', clusters: ['alpha', 'gamma'] });
    expect(r.status).toBe(201);
    expect(r.body.clusters).toEqual(['alpha']);
    expect(r.body.notes).toEqual(['no kubectl access to gamma: left out']);
  });

  test('a cluster that needs a console session is included, with a note', async () => {
    const r = await h.call('root', 'POST', '/kubeconfigs', { user: 'sam' });
    expect(r.status).toBe(201);
    expect(r.body.clusters).toEqual(['beta']);
    expect(r.body.notes).toEqual(['cluster beta: kubectl works only while you have an active web console session']);
  });
});

describe('the edge has the user\'s filter chain first', () => {
  // Only users holding a live certificate have a filter chain at the edge: the kubeconfig is
  // answered once the control plane says the edge has the new certificate's user.
  test('the answer waits until the edge has the chain', async () => {
    let release: (confirmation: EdgeConfirmation) => void = () => undefined;
    const issued = jest.spyOn(h.access, 'certificateIssued').mockImplementation(() => new Promise((resolve) => (release = resolve)));
    try {
      let answered = false;
      const call = h.call('root', 'POST', '/kubeconfigs', { user: 'dana' }).then((r) => {
        answered = true;
        return r;
      });
      while (issued.mock.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
      // Recorded already (so it can be revoked), but not handed out.
      expect(await h.store.listCertificates('dana')).toContainEqual(expect.objectContaining({ serial: issued.mock.calls[0]![0].serial }));
      expect(answered).toBe(false);
      release('confirmed');
      const r = await call;
      expect(r.status).toBe(201);
      expect(r.body.serial).toBe(issued.mock.calls[0]![0].serial);
      expect(r.body.notes).toEqual([]);
    } finally {
      issued.mockRestore();
    }
  });

  test('an edge that did not confirm in time: the kubeconfig, with a note saying so', async () => {
    const issued = jest.spyOn(h.access, 'certificateIssued').mockResolvedValue('unconfirmed');
    try {
      const r = await h.call('root', 'POST', '/kubeconfigs', { user: 'dana' });
      expect(r.status).toBe(201);
      expect(r.body.notes).toEqual(['the edge has not confirmed your new endpoint yet: if the first request is refused, retry in a few seconds']);
    } finally {
      issued.mockRestore();
    }
  });
});

describe('refusals', () => {
  test('a user may not issue one for someone else (403)', async () => {
    const r = await h.call('dana', 'POST', '/kubeconfigs', { user: 'root' });
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ code: 'ERR_FORBIDDEN', message: 'only administrators may issue a kubeconfig for another user; you may renew your own (user "dana")' });
  });

  test('a user with no access anywhere gets 403 with the reason, and no certificate is recorded', async () => {
    const r = await h.call('root', 'POST', '/kubeconfigs', { user: 'nick' });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('ERR_FORBIDDEN');
    expect(r.body.message).toMatch(/^user "nick" has no kubectl access to any cluster/);
    expect(await h.store.listCertificates('nick')).toEqual([]);
  });

  test('a console-only user gets 403 too: console-only clusters are not kubectl contexts', async () => {
    const r = await h.call('root', 'POST', '/kubeconfigs', { user: 'cora' });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/^user "cora" has no kubectl access to any cluster/);
  });

  test('a cluster the user cannot reach with kubectl is refused when it is all that was asked for', async () => {
    const r = await h.call('root', 'POST', '/kubeconfigs', { user: 'dana', clusters: ['gamma'] });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/^user "dana" has no kubectl access to any of gamma/);
  });

  test.each([
    [{ ttl: '8 hours' }, 'ttl', '"8 hours" is not a duration: use a number with a unit, e.g. 30s, 15m, 8h, 1h30m or 2d'],
    [{ ttl: '25h' }, 'ttl', 'ttl 25h is longer than the maximum of 24h'],
    [{ ttl: 3600 }, 'ttl', 'ttl must be a string'],
    [{ clusters: ['delta'] }, 'clusters', 'unknown cluster delta; registered: alpha, beta, gamma'],
    [{ clusters: [] }, 'clusters', 'clusters must not be empty: leave it out for every cluster the user may reach'],
    [{ clusters: 'alpha' }, 'clusters', 'clusters must be a list of strings'],
  ])('%j is 400 naming %s', async (body, field, message) => {
    const r = await h.call('root', 'POST', '/kubeconfigs', body);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 'ERR_BAD_REQUEST', field, message });
  });

  test('an unknown user is 404, a disabled one 409', async () => {
    expect((await h.call('root', 'POST', '/kubeconfigs', { user: 'nobody' })).body).toEqual({ code: 'ERR_NOT_FOUND', message: 'user "nobody" does not exist' });
    await h.addUser('dora', ['dev']);
    await h.call('root', 'POST', '/users/dora/disable');
    expect((await h.call('root', 'POST', '/kubeconfigs', { user: 'dora' })).body).toEqual({ code: 'ERR_CONFLICT', message: 'user "dora" is disabled; enable the user first' });
  });
});
