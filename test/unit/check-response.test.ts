import { createCertificateAuthority, issueCertificate } from '../../control-plane/pki/certificates';
import type { Decision } from '../../control-plane/authz/decision';
import { parseRequestAttributes } from '../../control-plane/kubernetes-api/request-attributes';
import { toAuthzRequest, toCheckResponse } from '../../control-plane/authz/check-response';
import { fromStruct } from '../../control-plane/proto/struct-value';
import { envoyProtos } from '../../control-plane/proto/envoy-protos';

const day = 86_400_000;
const now = Date.now();
const ca = createCertificateAuthority({ commonName: 'ca', notBefore: new Date(now - day), notAfter: new Date(now + day) });
const alice = issueCertificate(ca, { commonName: 'alice', usage: 'client', notBefore: new Date(now - day), notAfter: new Date(now + day) });

const allowAlice: Decision = {
  allowed: true,
  identity: { user: 'alice', groups: ['dev', 'ops'] },
  cluster: 'alpha',
  reason: 'rule 0 of AccessPolicy "devs" allows it',
  policy: 'devs',
  attributes: parseRequestAttributes('GET', '/api/v1/namespaces/team-a/pods/web'),
};
const unknownCluster: Decision = { allowed: false, httpStatus: 404, message: 'kubegate: no cluster "nope"', reason: 'unknown-cluster', cluster: 'nope', identity: { user: 'alice', groups: [] } };
const noIdentity: Decision = { allowed: false, httpStatus: 401, message: 'kubegate: a client certificate issued by kubegate and naming a user is required', reason: 'no-identity' };

const wire = (path: string, certPem: string, headers: Record<string, string> = {}) => ({
  attributes: {
    source: { address: { socket_address: { address: '127.0.0.1' } }, certificate: encodeURIComponent(certPem) },
    request: { http: { id: 'req-1', method: 'GET', path, headers } },
  },
});

const expectedAllowMetadata = {
  user: 'alice',
  groups: ['dev', 'ops'],
  cluster: 'alpha',
  // What the edge's tunnel clusters look tunnels up by: the cluster, as the decision names no pod.
  tunnel: 'alpha',
  decision: 'allow',
  reason: 'rule 0 of AccessPolicy "devs" allows it',
  verb: 'get',
  apiGroup: '',
  resource: 'pods',
  namespace: 'team-a',
  name: 'web',
  policy: 'devs',
  breakGlassId: '',
};

describe('check responses', () => {
  test('the server name the client sent is part of the request', () => {
    const request = toAuthzRequest({ attributes: { ...wire('/clusters/alpha/api', alice.certPem).attributes, tls_session: { sni: 'u-1.users.kubegate.invalid' } } });
    expect(request.serverName).toBe('u-1.users.kubegate.invalid');
    expect(toAuthzRequest(wire('/clusters/alpha/api', alice.certPem)).serverName).toBe('');
  });

  test("an allowed request impersonates the decision's identity and drops smuggled extras", () => {
    const request = toAuthzRequest(wire('/clusters/alpha/api', alice.certPem, { 'impersonate-extra-scopes': 'x', 'Impersonate-Extra-Foo': 'y', accept: '*/*' }));
    expect(request.peerCertificatePem).toBe(alice.certPem);
    const response = toCheckResponse(allowAlice, request) as any;
    expect(response.status.code).toBe(0);
    expect(response.ok_response.headers).toEqual([
      { header: { key: 'impersonate-user', value: 'alice' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'impersonate-group', value: 'dev' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
      { header: { key: 'impersonate-group', value: 'ops' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    expect(response.ok_response.headers_to_remove).toEqual(['impersonate-extra-scopes', 'Impersonate-Extra-Foo']);
    expect(fromStruct(response.dynamic_metadata)).toEqual(expectedAllowMetadata);
  });

  test('an unknown cluster is a Kubernetes NotFound Status', () => {
    const request = toAuthzRequest(wire('/clusters/nope/api', alice.certPem));
    const response = toCheckResponse(unknownCluster, request) as any;
    expect(response.status.code).toBe(7);
    expect(response.denied_response.status.code).toBe('NotFound');
    expect(JSON.parse(response.denied_response.body)).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    expect(fromStruct(response.dynamic_metadata)).toMatchObject({ decision: 'deny', reason: 'unknown-cluster', cluster: 'nope' });
  });

  test('no certificate is Unauthorized', () => {
    const request = toAuthzRequest(wire('/clusters/alpha/api', ''));
    const response = toCheckResponse(noIdentity, request) as any;
    expect(response.status.code).toBe(16);
    expect(response.denied_response.status.code).toBe('Unauthorized');
    expect(JSON.parse(response.denied_response.body).message).toContain('client certificate');
  });

  test('a malformed request is a Kubernetes BadRequest Status', () => {
    const request = toAuthzRequest(wire('/clusters/alpha/api/v1/namespaces/a%2Fb/pods', alice.certPem));
    const decision: Decision = { allowed: false, httpStatus: 400, message: 'kubegate: refused a malformed request path', reason: 'bad-request-path:percent-encoding' };
    const response = toCheckResponse(decision, request) as any;
    expect(response.denied_response.status.code).toBe('BadRequest');
    expect(JSON.parse(response.denied_response.body)).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
  });
});

describe('dynamic metadata on the wire', () => {
  test('survives protobuf encoding as the check server sends it (no field silently dropped)', () => {
    // Regression: protobufjs' bundled Struct uses camelCase names; snake_case keys were dropped.
    const type = envoyProtos().lookupType('envoy.service.auth.v3.CheckResponse');
    const request = toAuthzRequest(wire('/clusters/alpha/api', alice.certPem));
    const response = toCheckResponse(allowAlice, request);
    const roundTripped = type.toObject(type.decode(type.encode(type.fromObject(response)).finish()), { enums: String }) as any;
    expect(fromStruct(roundTripped.dynamic_metadata)).toEqual(expectedAllowMetadata);
  });
});
