import { createCertificateAuthority, issueCertificate } from '../../control-plane/pki/certificates';
import { CertificateAuthorizer } from '../../control-plane/authz/certificate-authorizer';
import { toAuthzRequest, toCheckResponse } from '../../control-plane/authz/check-response';
import { clusterFromPath } from '../../control-plane/authz/cluster-path';
import { fromStruct } from '../../control-plane/authz/struct-value';
import { envoyProtos } from '../../control-plane/proto/envoy-protos';

const day = 86_400_000;
const now = Date.now();
const ca = createCertificateAuthority({ commonName: 'ca', notBefore: new Date(now - day), notAfter: new Date(now + day) });
const alice = issueCertificate(ca, { commonName: 'alice', organizations: ['dev', 'ops'], usage: 'client', notBefore: new Date(now - day), notAfter: new Date(now + day) });

const wire = (path: string, certPem: string, headers: Record<string, string> = {}) => ({
  attributes: {
    source: { address: { socket_address: { address: '127.0.0.1' } }, certificate: encodeURIComponent(certPem) },
    request: { http: { id: 'req-1', method: 'GET', path, headers } },
  },
});

describe('cluster path', () => {
  test.each([
    ['/clusters/alpha/api/v1/pods', 'alpha'],
    ['/clusters/alpha', 'alpha'],
    ['/clusters/alpha?watch=1', 'alpha'],
    ['/clusters/', null],
    ['/api/v1/pods', null],
    ['/clustersx/alpha', null],
  ])('%s → %s', (path, cluster) => expect(clusterFromPath(path)).toBe(cluster));
});

describe('check responses', () => {
  const authorizer = new CertificateAuthorizer((name) => name === 'alpha');

  test('an allowed request impersonates the certificate identity and drops smuggled extras', () => {
    const request = toAuthzRequest(wire('/clusters/alpha/api', alice.certPem, { 'impersonate-extra-scopes': 'x', 'Impersonate-Extra-Foo': 'y', accept: '*/*' }));
    expect(request.peerCertificatePem).toBe(alice.certPem);
    const decision = authorizer.decide(request);
    expect(decision).toMatchObject({ allowed: true, cluster: 'alpha', identity: { user: 'alice', groups: ['dev', 'ops'] } });
    const response = toCheckResponse(decision, request) as any;
    expect(response.status.code).toBe(0);
    expect(response.ok_response.headers).toEqual([
      { header: { key: 'impersonate-user', value: 'alice' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'impersonate-group', value: 'dev' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
      { header: { key: 'impersonate-group', value: 'ops' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    expect(response.ok_response.headers_to_remove).toEqual(['impersonate-extra-scopes', 'Impersonate-Extra-Foo']);
    expect(fromStruct(response.dynamic_metadata)).toEqual({ user: 'alice', groups: ['dev', 'ops'], cluster: 'alpha', decision: 'allow', reason: 'valid-certificate' });
  });

  test('an unknown cluster is a Kubernetes NotFound Status', () => {
    const request = toAuthzRequest(wire('/clusters/nope/api', alice.certPem));
    const response = toCheckResponse(authorizer.decide(request), request) as any;
    expect(response.status.code).toBe(7);
    expect(response.denied_response.status.code).toBe('NotFound');
    expect(JSON.parse(response.denied_response.body)).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    expect(fromStruct(response.dynamic_metadata)).toMatchObject({ decision: 'deny', reason: 'unknown-cluster', cluster: 'nope' });
  });

  test('no certificate is Unauthorized', () => {
    const request = toAuthzRequest(wire('/clusters/alpha/api', ''));
    const response = toCheckResponse(authorizer.decide(request), request) as any;
    expect(response.status.code).toBe(16);
    expect(response.denied_response.status.code).toBe('Unauthorized');
    expect(JSON.parse(response.denied_response.body).message).toContain('client certificate');
  });

  test('a certificate that does not parse is treated as no identity', () => {
    const decision = authorizer.decide(toAuthzRequest(wire('/clusters/alpha/api', '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----')));
    expect(decision).toMatchObject({ allowed: false, httpStatus: 401, reason: 'no-identity' });
  });
});

describe('dynamic metadata on the wire', () => {
  test('survives protobuf encoding as the check server sends it (no field silently dropped)', () => {
    // Regression: protobufjs' bundled Struct uses camelCase names; snake_case keys were dropped.
    const type = envoyProtos().lookupType('envoy.service.auth.v3.CheckResponse');
    const request = toAuthzRequest(wire('/clusters/alpha/api', alice.certPem));
    const response = toCheckResponse(new CertificateAuthorizer(() => true).decide(request), request);
    const roundTripped = type.toObject(type.decode(type.encode(type.fromObject(response)).finish()), { enums: String }) as any;
    expect(fromStruct(roundTripped.dynamic_metadata)).toEqual({ user: 'alice', groups: ['dev', 'ops'], cluster: 'alpha', decision: 'allow', reason: 'valid-certificate' });
  });
});
