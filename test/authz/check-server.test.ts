/**
 * The ext_authz check server speaks unary gRPC on node:http2. These tests call it with
 * @grpc/grpc-js, an independent gRPC implementation, so a framing or trailer mistake shows.
 * (Envoy itself calls it in test/e2e.)
 */
import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../../control-plane/pki/certificates';
import { encodeGrpcMessage, frameMessage, startCheckServer, type RunningCheckServer } from '../../control-plane/authz/check-server';
import { DecidedElsewhereError, type Authorizer, type AuthzRequest, type Decision } from '../../control-plane/authz/decision';
import { envoyProtos, grpcService } from '../../control-plane/proto/envoy-protos';
import { fromStruct } from '../../control-plane/proto/struct-value';
import { silentLogger } from '../../control-plane/log/logger';

const day = 86_400_000;
const now = Date.now();
const validity = { notBefore: new Date(now - day), notAfter: new Date(now + day) };
const internalCa = createCertificateAuthority({ commonName: 'internal', ...validity });
const serving = issueCertificate(internalCa, { commonName: 'kubegate-control-plane', dnsNames: ['kubegate-control-plane'], usage: 'server', ...validity });
const envoyIdentity = issueCertificate(internalCa, { commonName: 'edge', usage: 'client', ...validity });
const userCa = createCertificateAuthority({ commonName: 'users', ...validity });
const alice = issueCertificate(userCa, { commonName: 'alice', usage: 'client', ...validity });

/**
 * These tests are about the gRPC transport, not about deciding (test/authz/policy-authorizer
 * covers that): this authorizer admits cluster alpha for alice in group dev, refuses the rest.
 */
const pathAuthorizer: Authorizer = {
  decide(r: AuthzRequest): Decision {
    if (r.path.startsWith('/clusters/alpha/')) return { allowed: true, identity: { user: 'alice', groups: ['dev'] }, cluster: 'alpha', reason: 'test' };
    return { allowed: false, httpStatus: 404, message: 'kubegate: no such cluster', reason: 'unknown-cluster' };
  },
};

const Authorization = grpcService('envoy.service.auth.v3.Authorization');

let server: RunningCheckServer;
let authorizer: Authorizer;

beforeEach(async () => {
  authorizer = pathAuthorizer;
  server = await startCheckServer({
    tls: { caPem: internalCa.certPem, ...serving },
    authorizer: { decide: (r) => authorizer.decide(r) },
    logger: silentLogger,
  });
});
afterEach(() => server.stop());

function client(identity: KeyPairPem | null = envoyIdentity) {
  const creds = identity
    ? grpc.credentials.createSsl(Buffer.from(internalCa.certPem), Buffer.from(identity.keyPem), Buffer.from(identity.certPem))
    : grpc.credentials.createSsl(Buffer.from(internalCa.certPem));
  return new Authorization(`127.0.0.1:${server.port}`, creds, { 'grpc.ssl_target_name_override': 'kubegate-control-plane' });
}

const checkRequest = (path: string, certPem = alice.certPem) => ({
  attributes: {
    source: { address: { socket_address: { address: '10.1.2.3', port_value: 5000 } }, certificate: encodeURIComponent(certPem) },
    request: { http: { id: 'r-1', method: 'GET', path, headers: { 'impersonate-extra-x': 'y' } } },
  },
});

function check(c: grpc.Client, request: object): Promise<any> {
  return new Promise((resolve, reject) =>
    (c as any).Check(request, { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res))),
  );
}

test('an allowed request gets the identity headers and the decision as metadata', async () => {
  const c = client();
  const res = await check(c, checkRequest('/clusters/alpha/api/v1/pods'));
  expect(res.status.code).toBe(0);
  expect(res.ok_response.headers.map((h: any) => [h.header.key, h.header.value])).toEqual([
    ['impersonate-user', 'alice'],
    ['impersonate-group', 'dev'],
  ]);
  expect(res.ok_response.headers_to_remove).toEqual(['impersonate-extra-x']);
  expect(fromStruct(res.dynamic_metadata)).toMatchObject({ user: 'alice', cluster: 'alpha', decision: 'allow' });
  expect(server.metrics.allowed).toBe(1);
  c.close();
});

test('a denial carries a Kubernetes Status body and is counted', async () => {
  const c = client();
  const res = await check(c, checkRequest('/clusters/elsewhere/api'));
  expect(res.status.code).toBe(7);
  expect(res.denied_response.status.code).toBe('NotFound');
  expect(JSON.parse(res.denied_response.body)).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound' });
  expect(server.metrics.denied).toBe(1);
  c.close();
});

test('many concurrent calls on one connection each get their own answer', async () => {
  const c = client();
  const paths = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? '/clusters/alpha/api' : `/clusters/other-${i}/api`));
  const answers = await Promise.all(paths.map((p) => check(c, checkRequest(p))));
  answers.forEach((a, i) => expect(a.status.code).toBe(i % 2 === 0 ? 0 : 7));
  expect(server.metrics).toEqual({ allowed: 25, denied: 25, errors: 0, elsewhere: 0 });
  c.close();
});

test('an authorizer failure is an INTERNAL error, so Envoy fails closed', async () => {
  authorizer = { decide: () => Promise.reject(new Error('store unavailable')) };
  const c = client();
  await expect(check(c, checkRequest('/clusters/alpha/api'))).rejects.toMatchObject({ code: grpc.status.INTERNAL, details: 'kubegate authorization error' });
  expect(server.metrics.errors).toBe(1);
  c.close();
});

test("a check another replica must decide is UNAVAILABLE (the edge retries it there), neither an error nor audited here", async () => {
  authorizer = { decide: () => Promise.reject(new DecidedElsewhereError('alpha')) };
  const c = client();
  await expect(check(c, checkRequest('/clusters/alpha/api'))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'the agent of cluster "alpha" is connected to another controller replica, which decides its requests' });
  expect(server.metrics).toEqual({ allowed: 0, denied: 0, errors: 0, elsewhere: 1 });
  c.close();
});

test('another method is UNIMPLEMENTED', async () => {
  const c = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createSsl(Buffer.from(internalCa.certPem), Buffer.from(envoyIdentity.keyPem), Buffer.from(envoyIdentity.certPem)), {
    'grpc.ssl_target_name_override': 'kubegate-control-plane',
  });
  const err = await new Promise<grpc.ServiceError>((resolve) =>
    c.makeUnaryRequest('/envoy.service.auth.v3.Authorization/Other', (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), (e) => resolve(e!)),
  );
  expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  expect(err.details).toContain('unknown method /envoy.service.auth.v3.Authorization/Other');
  c.close();
});

/** Calls Check with any body, over plain node:http2; resolves with the headers and trailers. */
function rawCaller() {
  const session = http2.connect(`https://127.0.0.1:${server.port}`, { ca: internalCa.certPem, cert: envoyIdentity.certPem, key: envoyIdentity.keyPem, servername: 'kubegate-control-plane' });
  const call = (body: Buffer) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const s = session.request({ ':method': 'POST', ':path': '/envoy.service.auth.v3.Authorization/Check', 'content-type': 'application/grpc' });
      let headers: Record<string, unknown> = {};
      s.on('response', (h) => (headers = { ...h }));
      s.on('trailers', (t) => (headers = { ...headers, ...t }));
      s.on('close', () => resolve(headers));
      s.resume();
      s.end(body);
    });
  return { session, call };
}

test('a compressed message is refused as UNIMPLEMENTED and a truncated one as INVALID_ARGUMENT', async () => {
  const { session, call } = rawCaller();
  const compressed = await call(Buffer.from([1, 0, 0, 0, 1, 0]));
  expect(compressed['grpc-status']).toBe(String(grpc.status.UNIMPLEMENTED));
  const truncated = await call(Buffer.from([0, 0, 0, 0, 9, 1, 2]));
  expect(truncated['grpc-status']).toBe(String(grpc.status.INVALID_ARGUMENT));
  session.close();
});

test('malformed CheckRequests are INVALID_ARGUMENT, and the server keeps answering', async () => {
  const { session, call } = rawCaller();
  const requestType = envoyProtos().lookupType('envoy.service.auth.v3.CheckRequest');
  const encoded = (message: object) => frameMessage(requestType.encode(requestType.fromObject(message)).finish());
  const malformed = [
    // attributes (field 1) claims 50 bytes, 2 follow
    frameMessage(Buffer.from([0x0a, 50, 1, 2])),
    // a varint that never ends
    frameMessage(Buffer.from([0x08, 0xff, 0xff, 0xff])),
    // wire type 7 does not exist (on field 3, which CheckRequest does not have)
    frameMessage(Buffer.from([0x1f, 0x00])),
    // a certificate whose URL-encoding does not decode
    encoded({ attributes: { source: { certificate: '%E0%A4%A' }, request: { http: { id: 'r', method: 'GET', path: '/clusters/alpha/api' } } } }),
  ];
  for (const body of malformed) expect((await call(body))['grpc-status']).toBe(String(grpc.status.INVALID_ARGUMENT));
  expect(server.metrics).toEqual({ allowed: 0, denied: 0, errors: malformed.length, elsewhere: 0 });
  // A good request after them is answered normally.
  const good = await call(encoded(checkRequest('/clusters/alpha/api')));
  expect(good['grpc-status']).toBe('0');
  session.close();
});

test('a synchronous authorizer that throws is an INTERNAL error too', async () => {
  authorizer = {
    decide: () => {
      throw new Error('boom');
    },
  };
  const c = client();
  await expect(check(c, checkRequest('/clusters/alpha/api'))).rejects.toMatchObject({ code: grpc.status.INTERNAL, details: 'kubegate authorization error' });
  expect(server.metrics.errors).toBe(1);
  c.close();
});

test('an authorizer answering through a promise is answered like a synchronous one', async () => {
  authorizer = { decide: async (r) => pathAuthorizer.decide(r) };
  const c = client();
  const [allowed, denied] = await Promise.all([check(c, checkRequest('/clusters/alpha/api')), check(c, checkRequest('/clusters/beta/api'))]);
  expect(allowed.status.code).toBe(0);
  expect(denied.status.code).toBe(7);
  expect(server.metrics).toEqual({ allowed: 1, denied: 1, errors: 0, elsewhere: 0 });
  c.close();
});

test('a caller without a client certificate, or with one from another CA, is refused at TLS', async () => {
  const anonymous = client(null);
  await expect(check(anonymous, checkRequest('/clusters/alpha/api'))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  anonymous.close();
  const user = client(alice); // a user's certificate is from the user CA, not the internal one
  await expect(check(user, checkRequest('/clusters/alpha/api'))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  user.close();
  expect(server.metrics).toEqual({ allowed: 0, denied: 0, errors: 0, elsewhere: 0 });
});

test('grpc-message keeps printable ASCII and percent-encodes the rest', () => {
  expect(encodeGrpcMessage('unknown method /a.B/C')).toBe('unknown method /a.B/C');
  expect(encodeGrpcMessage('100% naïve\n')).toBe('100%25 na%C3%AFve%0A');
});
