import { parse } from 'yaml';
import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority } from '../../control-plane/pki/certificates';
import { CredentialRequestError, issueUserCertificate, MAX_USER_CERT_TTL_MS } from '../../control-plane/credentials/user-certificate';
import { buildKubeconfig, NO_CLUSTER_CONTEXT } from '../../control-plane/credentials/kubeconfig';
import { userServerName } from '../../control-plane/identity/user-identity';
import { CertificateIdentityReader } from '../../control-plane/authz/certificate-identity';

const now = new Date('2026-11-22T12:00:00Z');
const ca = createCertificateAuthority({ commonName: 'test user CA', notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z') });

describe('user certificates', () => {
  test('carry the user as CN and kubegate URI, no groups, and the requested lifetime', () => {
    const pair = issueUserCertificate(ca, { user: 'alice', ttlMs: 2 * 3_600_000, now });
    const cert = new X509Certificate(pair.certPem);
    // Groups are not in the certificate: the edge resolves them from kubegate's records.
    expect(cert.subject.split('\n')).toEqual(['CN=alice']);
    expect(cert.subjectAltName).toBe('URI:kubegate://user/alice');
    expect(new Date(cert.validTo).getTime()).toBe(now.getTime() + 2 * 3_600_000);
    expect(pair.notAfter.getTime()).toBe(now.getTime() + 2 * 3_600_000);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    // Node reports the extended key usage here: client authentication only, never server.
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  test('report the serial the way the edge reads it back', () => {
    const pair = issueUserCertificate(ca, { user: 'bob@example.com', ttlMs: 60_000, now });
    expect(new CertificateIdentityReader().read(pair.certPem)).toEqual({ user: 'bob@example.com', serial: pair.serial });
  });

  test.each([
    ['a lifetime over the maximum', { user: 'alice', ttlMs: MAX_USER_CERT_TTL_MS + 1 }, /longer than the maximum of 24 h/],
    ['a lifetime over the organisation ceiling', { user: 'alice', ttlMs: 3 * 3_600_000, maxTtlMs: 2 * 3_600_000 }, /longer than the maximum of 2 h/],
    ['a zero lifetime', { user: 'alice', ttlMs: 0 }, /must be positive/],
    ['a reserved user name', { user: 'system:admin', ttlMs: 60_000 }, /user "system:admin" is reserved/],
    ['a user name with spaces', { user: 'alice smith', ttlMs: 60_000 }, /user "alice smith" is not valid/],
    ['an empty user name', { user: '', ttlMs: 60_000 }, /user "" is not valid/],
  ])('refuse %s', (_what, req, message) => {
    expect(() => issueUserCertificate(ca, { ...req, now })).toThrow(CredentialRequestError);
    expect(() => issueUserCertificate(ca, { ...req, now })).toThrow(message);
  });
});

describe('kubeconfig', () => {
  const build = (user = 'alice') =>
    parse(
      buildKubeconfig({
        edgeUrl: 'https://127.0.0.1:8443/',
        edgeCaPem: 'EDGE-CA',
        user,
        clientCertPem: 'CERT',
        clientKeyPem: 'KEY',
        clusters: ['alpha', 'beta'],
        userServerNameSuffix: 'users.example.test',
      }),
    );

  test('has one context per cluster, each through the edge at /clusters/<name>', () => {
    const doc = build();
    expect(doc.clusters.map((c: { cluster: { server: string } }) => c.cluster.server)).toEqual([
      'https://127.0.0.1:8443/clusters/alpha',
      'https://127.0.0.1:8443/clusters/beta',
    ]);
    expect(doc.contexts.map((c: { name: string }) => c.name)).toEqual(['alpha', 'beta']);
    expect(doc['current-context']).toBe('alpha');
    expect(Buffer.from(doc.users[0].user['client-certificate-data'], 'base64').toString()).toBe('CERT');
    expect(Buffer.from(doc.users[0].user['client-key-data'], 'base64').toString()).toBe('KEY');
    expect(Buffer.from(doc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe('EDGE-CA');
  });

  test("names the user's own server name on every cluster, under the configured suffix", () => {
    const doc = build('alice@example.com');
    const names = doc.clusters.map((c: { cluster: Record<string, string> }) => c.cluster['tls-server-name']);
    expect(names).toEqual([userServerName('alice@example.com', 'users.example.test'), userServerName('alice@example.com', 'users.example.test')]);
    expect(names[0]).toMatch(/^u-[0-9a-f]{32}\.users\.example\.test$/);
    // Another user gets another name: the edge tells users apart by it.
    expect(build('bob').clusters[0].cluster['tls-server-name']).not.toBe(names[0]);
  });

  test('before any cluster exists (a new hub\'s admin credential): one context for the edge itself, with the same user and CA', () => {
    const doc = parse(buildKubeconfig({ edgeUrl: 'https://hub.example:8443/', edgeCaPem: 'EDGE-CA', user: 'admin', clientCertPem: 'CERT', clientKeyPem: 'KEY', clusters: [], userServerNameSuffix: 'users.example.test' }));
    expect(doc.contexts).toEqual([{ name: NO_CLUSTER_CONTEXT, context: { cluster: NO_CLUSTER_CONTEXT, user: 'kubegate-admin' } }]);
    expect(doc['current-context']).toBe(NO_CLUSTER_CONTEXT);
    expect(doc.clusters[0].cluster.server).toBe('https://hub.example:8443');
    expect(doc.clusters[0].cluster['tls-server-name']).toBe(userServerName('admin', 'users.example.test'));
    expect(Buffer.from(doc.users[0].user['client-certificate-data'], 'base64').toString()).toBe('CERT');
  });
});
