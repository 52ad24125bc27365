import { parse } from 'yaml';
import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority } from '../../control-plane/pki/certificates';
import { CredentialRequestError, issueUserCertificate, MAX_USER_CERT_TTL_MS } from '../../control-plane/credentials/user-certificate';
import { buildKubeconfig } from '../../control-plane/credentials/kubeconfig';

const now = new Date('2026-11-22T12:00:00Z');
const ca = createCertificateAuthority({ commonName: 'test user CA', notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z') });

describe('user certificates', () => {
  test('carry the user as CN, groups as O, a kubegate URI and the requested lifetime', () => {
    const pair = issueUserCertificate(ca, { user: 'alice', groups: ['dev', 'ops'], ttlMs: 2 * 3_600_000, now });
    const cert = new X509Certificate(pair.certPem);
    expect(cert.subject.split('\n')).toEqual(['CN=alice', 'O=dev', 'O=ops']);
    expect(cert.subjectAltName).toBe('URI:kubegate://user/alice');
    expect(new Date(cert.validTo).getTime()).toBe(now.getTime() + 2 * 3_600_000);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    // Node reports the extended key usage here: client authentication only, never server.
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  test.each([
    ['a lifetime over the maximum', { user: 'alice', groups: [], ttlMs: MAX_USER_CERT_TTL_MS + 1 }, /longer than the maximum of 24 h/],
    ['a reserved user name', { user: 'system:admin', groups: [], ttlMs: 60_000 }, /user "system:admin" is reserved/],
    ['a reserved group', { user: 'alice', groups: ['system:masters'], ttlMs: 60_000 }, /group "system:masters" is reserved/],
    ['a user name with spaces', { user: 'alice smith', groups: [], ttlMs: 60_000 }, /user "alice smith" is not valid/],
    ['an empty group', { user: 'alice', groups: [''], ttlMs: 60_000 }, /group "" is not valid/],
  ])('refuse %s', (_what, req, message) => {
    expect(() => issueUserCertificate(ca, { ...req, now })).toThrow(CredentialRequestError);
    expect(() => issueUserCertificate(ca, { ...req, now })).toThrow(message);
  });
});

describe('kubeconfig', () => {
  test('has one context per cluster, each through the edge at /clusters/<name>', () => {
    const text = buildKubeconfig({
      edgeUrl: 'https://127.0.0.1:8443/',
      edgeCaPem: 'EDGE-CA',
      user: 'alice',
      clientCertPem: 'CERT',
      clientKeyPem: 'KEY',
      clusters: ['alpha', 'beta'],
    });
    const doc = parse(text);
    expect(doc.clusters.map((c: { cluster: { server: string } }) => c.cluster.server)).toEqual([
      'https://127.0.0.1:8443/clusters/alpha',
      'https://127.0.0.1:8443/clusters/beta',
    ]);
    expect(doc.contexts.map((c: { name: string }) => c.name)).toEqual(['alpha', 'beta']);
    expect(doc['current-context']).toBe('alpha');
    expect(Buffer.from(doc.users[0].user['client-certificate-data'], 'base64').toString()).toBe('CERT');
    expect(Buffer.from(doc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe('EDGE-CA');
  });
});
