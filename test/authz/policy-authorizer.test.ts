/**
 * The edge's decision for one request, with the real policy engine and real certificates: every
 * refusal the authorizer makes before the engine (identity, endpoint, path, cluster), what it
 * passes on when the engine allows, and that a change to kubegate's records applies to the
 * very next request even with the decision cache.
 */
import { createCertificateAuthority, issueCertificate } from '../../control-plane/pki/certificates';
import { issueUserCertificate } from '../../control-plane/credentials/user-certificate';
import { userServerName, userUri } from '../../control-plane/identity/user-identity';
import { PolicyAuthorizer } from '../../control-plane/authz/policy-authorizer';
import type { AuthzRequest, Decision } from '../../control-plane/authz/decision';
import { AccessState } from '../../control-plane/access-state/access-state';
import { DecisionCache } from '../../control-plane/policy-engine/decision-cache';
import type { StoreState, UserRecord } from '../../control-plane/store/store';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const ca = createCertificateAuthority({ commonName: 'users', notBefore: new Date(NOW - 86_400_000), notAfter: new Date(NOW + 86_400_000) });
const aliceCert = issueUserCertificate(ca, { user: 'alice', ttlMs: 3_600_000, now: new Date(NOW) });
const bobCert = issueUserCertificate(ca, { user: 'bob', ttlMs: 3_600_000, now: new Date(NOW) });

const POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: dev-pods}
spec:
  subjects: {groups: [dev]}
  clusters: {names: [alpha]}
  rules:
    - {apiGroups: [""], resources: [pods], verbs: [get, list, watch], namespaces: [team-a]}
`;

const user = (name: string, groups: string[], extra: Partial<UserRecord> = {}): UserRecord => ({
  name,
  groups,
  disabled: false,
  createdAt: NOW,
  updatedAt: NOW,
  credentialRevision: 0,
  ...extra,
});

function state(over: Partial<StoreState> = {}): StoreState {
  return {
    generation: 1,
    users: [user('alice', ['dev']), user('bob', [])],
    groups: [],
    revokedSerials: [],
    liveCertificates: [],
    policySet: { revision: 1, files: [{ fileName: 'dev.yaml', text: POLICY }], appliedAt: NOW, appliedBy: 'test' },
    breakGlass: [],
    sessions: [],
    clusters: [],
    edgeDrains: { users: {}, sharedChain: 0, userDeletions: 0 },
    ...over,
  };
}

let access: AccessState;
let authorizer: PolicyAuthorizer;

beforeEach(() => {
  access = new AccessState();
  expect(access.applyStoreState(state())).toBeNull();
  access.setClusters([{ name: 'alpha', labels: { env: 'dev' } }]);
  authorizer = new PolicyAuthorizer({ view: () => access, clock: () => NOW, cache: new DecisionCache() });
});

const request = (path: string, over: Partial<AuthzRequest> = {}): AuthzRequest => ({
  requestId: 'r1',
  method: 'GET',
  path,
  headers: {},
  sourceAddress: '127.0.0.1',
  peerCertificatePem: aliceCert.certPem,
  serverName: userServerName('alice'),
  ...over,
});

const denied = (d: Decision) => {
  if (d.allowed) throw new Error(`expected a denial, got allow: ${d.reason}`);
  return d;
};

test('allows what the policy allows, presenting the groups from kubegate records', () => {
  const d = authorizer.decide(request('/clusters/alpha/api/v1/namespaces/team-a/pods'));
  expect(d).toMatchObject({ allowed: true, identity: { user: 'alice', groups: ['dev'] }, cluster: 'alpha', policy: 'dev-pods' });
  expect(d.attributes).toMatchObject({ verb: 'list', resource: 'pods', namespace: 'team-a' });
});

test.each([
  ['another namespace', '/clusters/alpha/api/v1/namespaces/team-b/pods'],
  ['all namespaces', '/clusters/alpha/api/v1/pods'],
  ['exec, a privileged subresource', '/clusters/alpha/api/v1/namespaces/team-a/pods/web/exec?command=sh'],
  ['secrets', '/clusters/alpha/api/v1/namespaces/team-a/secrets'],
])('refuses %s with a Kubernetes Forbidden naming kubegate and the reason', (_what, path) => {
  const d = denied(authorizer.decide(request(path)));
  expect(d.httpStatus).toBe(403);
  expect(d.message).toMatch(/^kubegate: /);
  expect(d.message).toContain('alice');
  expect(d.reason).toMatch(/^not-permitted/);
});

test('a user no policy names is refused with no-policy', () => {
  const d = denied(authorizer.decide(request('/clusters/alpha/api/v1/namespaces/team-a/pods', { peerCertificatePem: bobCert.certPem, serverName: userServerName('bob') })));
  expect(d.httpStatus).toBe(403);
  expect(d.reason).toMatch(/^no-policy/);
});

test('no certificate, or one that names no kubegate user, is 401 no-identity', () => {
  expect(denied(authorizer.decide(request('/clusters/alpha/api', { peerCertificatePem: '' }))).reason).toBe('no-identity');
  const cnOnly = issueCertificate(ca, { commonName: 'alice', usage: 'client', notBefore: new Date(NOW - 1000), notAfter: new Date(NOW + 3_600_000) });
  const d = denied(authorizer.decide(request('/clusters/alpha/api', { peerCertificatePem: cnOnly.certPem })));
  expect(d).toMatchObject({ httpStatus: 401, reason: 'no-identity' });
  const twoUsers = issueCertificate(ca, { commonName: 'x', uris: [userUri('alice'), userUri('bob')], usage: 'client', notBefore: new Date(NOW - 1000), notAfter: new Date(NOW + 3_600_000) });
  expect(denied(authorizer.decide(request('/clusters/alpha/api', { peerCertificatePem: twoUsers.certPem }))).reason).toBe('no-identity');
});

test('an unknown user, a disabled user and a revoked certificate are refused with their reason', () => {
  const carol = issueUserCertificate(ca, { user: 'carol', ttlMs: 60_000, now: new Date(NOW) });
  const unknown = denied(authorizer.decide(request('/clusters/alpha/api', { peerCertificatePem: carol.certPem, serverName: userServerName('carol') })));
  expect(unknown).toMatchObject({ httpStatus: 401, reason: 'unknown-user' });
  expect(unknown.message).toContain('"carol" is not known');

  access.applyStoreState(state({ generation: 2, users: [user('alice', ['dev'], { disabled: true })] }));
  expect(denied(authorizer.decide(request('/clusters/alpha/api/v1/namespaces/team-a/pods')))).toMatchObject({ httpStatus: 403, reason: 'user-disabled' });

  access.applyStoreState(state({ generation: 3, revokedSerials: [aliceCert.serial] }));
  const revoked = denied(authorizer.decide(request('/clusters/alpha/api/v1/namespaces/team-a/pods')));
  expect(revoked).toMatchObject({ httpStatus: 401, reason: 'certificate-revoked' });
  expect(revoked.message).toContain('revoked');
});

test("a request on another user's endpoint is refused", () => {
  const d = denied(authorizer.decide(request('/clusters/alpha/api/v1/namespaces/team-a/pods', { serverName: userServerName('bob') })));
  expect(d).toMatchObject({ httpStatus: 403, reason: 'wrong-server-name' });
  expect(d.message).toContain("another user's endpoint");
});

test("a name the edge sends to a user shard without being the user's is refused: streams there could not be drained", () => {
  for (const serverName of ['u-5.example.com', 'u-edge.example.com', `${userServerName('bob').split('.')[0]}.other.example`]) {
    const d = denied(authorizer.decide(request('/clusters/alpha/api/v1/namespaces/team-a/pods', { serverName })));
    expect([serverName, d.reason]).toEqual([serverName, 'wrong-server-name']);
  }
});

test('a request naming no user (kubectl --server, a client that overrides the host) is served on the shared chain, and says so', () => {
  for (const serverName of ['', '127.0.0.1', 'edge.example.com']) {
    const d = authorizer.decide(request('/clusters/alpha/api/v1/namespaces/team-a/pods', { serverName }));
    expect(d).toMatchObject({ allowed: true, sharedEndpoint: true });
  }
  const own = authorizer.decide(request('/clusters/alpha/api/v1/namespaces/team-a/pods'));
  expect(own.allowed).toBe(true);
  expect(own).not.toHaveProperty('sharedEndpoint');
});

test('the shared chain does not weaken anything else: a revoked certificate is refused there too', () => {
  access.applyStoreState(state({ generation: 3, revokedSerials: [aliceCert.serial] }));
  const revoked = denied(authorizer.decide(request('/clusters/alpha/api/v1/namespaces/team-a/pods', { serverName: '' })));
  expect(revoked).toMatchObject({ httpStatus: 401, reason: 'certificate-revoked' });
});

test.each([
  ['an encoded slash', '/clusters/alpha/api/v1/namespaces/team-a%2Fpods', 400],
  ['a dot segment', '/clusters/alpha/api/v1/namespaces/team-b/../team-a/pods', 400],
  ['a double slash', '/clusters/alpha/api/v1/namespaces//team-a/pods', 400],
  ['an encoded dot segment in the cluster', '/clusters/%2e%2e/alpha/api', 400],
  ['no cluster', '/api/v1/pods', 404],
  ['an unknown cluster', '/clusters/beta/api/v1/namespaces/team-a/pods', 404],
])('refuses %s before the policy is consulted', (_what, path, status) => {
  const d = denied(authorizer.decide(request(path)));
  expect(d.httpStatus).toBe(status);
  expect(d.message).toMatch(/^kubegate: /);
});

test("a change to kubegate's records applies to the very next request, cache or not", () => {
  const path = '/clusters/alpha/api/v1/namespaces/team-a/pods';
  expect(authorizer.decide(request(path)).allowed).toBe(true);
  expect(authorizer.decide(request(path)).allowed).toBe(true);
  // alice leaves group dev: the cached allow must not stand.
  access.applyStoreState(state({ generation: 2, users: [user('alice', [])] }));
  expect(denied(authorizer.decide(request(path))).reason).toMatch(/^no-policy/);
  // A policy that drops the rule: likewise.
  access.applyStoreState(state({ generation: 3, users: [user('alice', ['dev'])] }));
  expect(authorizer.decide(request(path)).allowed).toBe(true);
  const narrower = POLICY.replace('verbs: [get, list, watch]', 'verbs: [get]');
  access.applyStoreState(state({ generation: 4, policySet: { revision: 2, files: [{ fileName: 'dev.yaml', text: narrower }], appliedAt: NOW, appliedBy: 't' } }));
  expect(denied(authorizer.decide(request(path))).reason).toMatch(/^not-permitted/);
});

test('a stored policy set that no longer loads keeps the previous engine and reports why', () => {
  const err = access.applyStoreState(state({ generation: 2, policySet: { revision: 2, files: [{ fileName: 'bad.yaml', text: 'kind: Nope\n' }], appliedAt: NOW, appliedBy: 't' } }));
  expect(err).not.toBeNull();
  expect(access.policyRevision).toBe(1);
  expect(authorizer.decide(request('/clusters/alpha/api/v1/namespaces/team-a/pods')).allowed).toBe(true);
});

test('discovery (/api, /apis, /version) is granted to users with kubectl access to the cluster, and only to them', () => {
  for (const path of ['/clusters/alpha/api', '/clusters/alpha/apis', '/clusters/alpha/api/v1', '/clusters/alpha/apis/apps/v1', '/clusters/alpha/version']) {
    const d = authorizer.decide(request(path));
    expect(d).toMatchObject({ allowed: true, identity: { user: 'alice' } });
    expect(d.reason).toMatch(/^discovery/);
  }
  const bob = { peerCertificatePem: bobCert.certPem, serverName: userServerName('bob') };
  expect(denied(authorizer.decide(request('/clusters/alpha/api', bob))).reason).toMatch(/^no-policy/);
  expect(authorizer.decide(request('/clusters/alpha/api', { method: 'POST' })).allowed).toBe(false);
  expect(authorizer.decide(request('/clusters/alpha/metrics')).allowed).toBe(false);
});
