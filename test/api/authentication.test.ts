/**
 * Who may call the admin API at all: TLS refuses anything not from the user CA; a
 * certificate from it is resolved against kubegate's records, and an unknown, disabled or
 * revoked caller gets a JSON 401. Also the API's general behaviour: JSON errors with stable
 * codes, administrators only where it matters, bodies checked and limited.
 */
import { createCertificateAuthority, issueCertificate } from '../../control-plane/pki/certificates';
import { ADMINS_GROUP } from '../../control-plane/api/admins';
import { ApiHarness } from './api-harness';

let h: ApiHarness;

beforeAll(async () => {
  h = await ApiHarness.start();
  await h.addUser('dana', ['dev']);
});
afterAll(() => h.close());

/**
 * The server ends the handshake; with TLS 1.3 the client sees the alert or, if the socket
 * closes first, a hang-up. Either way no HTTP answer is given.
 */
const REFUSED = /alert|socket hang up|ECONNRESET/;

const hour = () => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });

describe('the TLS handshake', () => {
  test('refuses a client without a certificate', async () => {
    await expect(h.call(null, 'GET', '/whoami')).rejects.toThrow(REFUSED);
  });

  test('refuses a certificate from another CA, even one naming an administrator', async () => {
    const otherCa = createCertificateAuthority({ commonName: 'other CA', ...hour() });
    const foreign = issueCertificate(otherCa, { commonName: 'root', uris: ['kubegate://user/root'], usage: 'client', ...hour() });
    await expect(h.call(foreign, 'GET', '/whoami')).rejects.toThrow(REFUSED);
  });
});

describe('callers the user CA vouches for', () => {
  test('an administrator is recognised with their groups and certificate', async () => {
    const r = await h.call('root', 'GET', '/whoami');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ user: 'root', groups: [ADMINS_GROUP], admin: true, serial: (await h.cert('root')).serial });
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  test('a user is recognised with the groups of their record, not of their certificate', async () => {
    // The certificate carries O=kubegate:admins; only the record counts.
    const forged = issueCertificate(h.userCa, { commonName: 'dana', organizations: [ADMINS_GROUP], uris: ['kubegate://user/dana'], usage: 'client', ...hour() });
    const r = await h.call(forged, 'GET', '/whoami');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ user: 'dana', groups: ['dev'], admin: false });
  });

  test('a certificate without a kubegate user URI is 401', async () => {
    const plain = issueCertificate(h.userCa, { commonName: 'root', organizations: [ADMINS_GROUP], usage: 'client', ...hour() });
    const r = await h.call(plain, 'GET', '/whoami');
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ code: 'ERR_UNAUTHENTICATED', message: expect.stringContaining('does not name a kubegate user') });
  });

  test('an unknown user is 401 and told to ask for an account', async () => {
    const r = await h.call('mallory', 'GET', '/whoami');
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ code: 'ERR_UNAUTHENTICATED', message: 'user "mallory" is not known to kubegate; ask an administrator to create the user' });
  });

  test('a disabled user is 401, and enabled again is recognised again', async () => {
    await h.addUser('erin', ['dev']);
    expect((await h.call('erin', 'GET', '/whoami')).status).toBe(200);
    expect((await h.call('root', 'POST', '/users/erin/disable')).status).toBe(200);
    const r = await h.call('erin', 'GET', '/whoami');
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ code: 'ERR_UNAUTHENTICATED', message: 'user "erin" is disabled' });
    expect((await h.call('root', 'POST', '/users/erin/enable')).status).toBe(200);
    expect((await h.call('erin', 'GET', '/whoami')).status).toBe(200);
  });

  test('a revoked certificate is 401 at once', async () => {
    await h.addUser('finn', ['dev']);
    expect((await h.call('finn', 'GET', '/whoami')).status).toBe(200);
    expect((await h.call('root', 'POST', '/users/finn/revoke')).status).toBe(200);
    const r = await h.call('finn', 'GET', '/whoami');
    expect(r.status).toBe(401);
    expect(r.body.message).toContain('this client certificate was revoked');
  });
});

describe('requests', () => {
  test.each([
    ['GET', '/users'],
    ['POST', '/users'],
    ['GET', '/users/root'],
    ['PUT', '/users/root/groups'],
    ['POST', '/users/root/disable'],
    ['POST', '/users/root/enable'],
    ['DELETE', '/users/root'],
    ['POST', '/users/root/revoke'],
    ['GET', '/groups'],
    ['POST', '/groups'],
    ['DELETE', '/groups/dev'],
    ['POST', '/groups/dev/members'],
    ['DELETE', '/groups/dev/members/dana'],
    ['PUT', '/policies'],
  ])('%s %s is for administrators only (403)', async (method, p) => {
    const r = await h.call('dana', method, p, method === 'GET' || method === 'DELETE' ? undefined : {});
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ code: 'ERR_FORBIDDEN', message: `only members of ${ADMINS_GROUP} may ${method} /api/v1${p}` });
  });

  test('an unknown endpoint is 404 with a JSON error', async () => {
    const r = await h.call('root', 'GET', '/nothing-here');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ code: 'ERR_NOT_FOUND', message: 'no such endpoint: GET /api/v1/nothing-here' });
  });

  test('a wrong method is 405 and names the allowed ones', async () => {
    const r = await h.call('root', 'PATCH', '/users');
    expect(r.status).toBe(405);
    expect(r.body.code).toBe('ERR_METHOD_NOT_ALLOWED');
    expect(r.headers.allow).toBe('GET, POST');
  });

  test('a body that is not JSON is 400', async () => {
    const r = await h.call('root', 'POST', '/users', '{"name": ');
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('ERR_BAD_REQUEST');
    expect(r.body.message).toContain('not valid JSON');
  });

  test('a body that is not declared as JSON is 415', async () => {
    const r = await h.call('root', 'POST', '/users', JSON.stringify({ name: 'x' }), { 'content-type': 'text/plain' });
    expect(r.status).toBe(415);
    expect(r.body.code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE');
    expect((await h.call('root', 'GET', '/users/x')).status).toBe(404);
  });

  test('a body over the limit is 413', async () => {
    const r = await h.call('root', 'POST', '/policies/validate', JSON.stringify({ files: [{ fileName: 'a.yaml', text: 'x'.repeat(5 * 1024 * 1024) }] }));
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('ERR_BODY_TOO_LARGE');
  });

  test('a JSON array where an object belongs is 400', async () => {
    const r = await h.call('root', 'POST', '/users', []);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 'ERR_BAD_REQUEST', field: '', message: 'the request body must be a JSON object' });
  });

  test('an unknown field is 400 and names it, so a typo never passes silently', async () => {
    const r = await h.call('root', 'POST', '/users', { name: 'gail', group: ['dev'] });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 'ERR_BAD_REQUEST', field: 'group', message: 'unknown field "group"; fields here: name, groups' });
    expect((await h.call('root', 'GET', '/users/gail')).status).toBe(404);
  });

  test('errors never carry a stack trace', async () => {
    const r = await h.call('root', 'POST', '/users', { name: 42 });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body).sort()).toEqual(['code', 'field', 'message']);
    expect(JSON.stringify(r.body)).not.toMatch(/\bat .*\.ts:\d+/);
  });
});
