/**
 * The hand-written CheckResponse encoder must send exactly what protobufjs sent for
 * toCheckResponse's object: the same bytes, for every kind of decision and any text in it.
 */
import * as fc from 'fast-check';
import type { AuthzRequest, Decision } from '../../control-plane/authz/decision';
import { toCheckResponse } from '../../control-plane/authz/check-response';
import { encodeCheckResponseFrame } from '../../control-plane/authz/check-response-encoder';
import { frameMessage } from '../../control-plane/authz/check-server';
import { parseRequestAttributes } from '../../control-plane/kubernetes-api/request-attributes';
import { envoyProtos } from '../../control-plane/proto/envoy-protos';
import { fromStruct } from '../../control-plane/proto/struct-value';

const responseType = envoyProtos().lookupType('envoy.service.auth.v3.CheckResponse');

/** What the server sent before the encoder: protobufjs over toCheckResponse, framed. */
const viaProtobufjs = (decision: Decision, request: AuthzRequest) => frameMessage(responseType.encode(responseType.fromObject(toCheckResponse(decision, request))).finish());

const request = (headers: Record<string, string> = {}): AuthzRequest => ({
  requestId: 'r-1',
  method: 'GET',
  path: '/clusters/alpha/api/v1/namespaces/team-a/pods/web',
  headers,
  sourceAddress: '127.0.0.1',
  peerCertificatePem: '',
  serverName: '',
});

const attributes = parseRequestAttributes('GET', '/api/v1/namespaces/team-a/pods/web/log');
const long = (n: number) => 'x'.repeat(n);

const decisions: [string, Decision][] = [
  ['allow with groups', { allowed: true, identity: { user: 'alice', groups: ['dev', 'ops'] }, cluster: 'alpha', reason: 'rule 0 allows it', policy: 'devs', attributes }],
  ['allow without groups', { allowed: true, identity: { user: 'alice', groups: [] }, cluster: 'alpha', reason: '' }],
  ['allow under break-glass', { allowed: true, identity: { user: 'bob', groups: ['oncall'] }, cluster: 'beta', reason: 'grant', policy: 'bg', breakGlassId: 'bg-123', attributes, validUntil: 5 }],
  [
    'allow through a tunnel',
    { allowed: true, identity: { user: 'carol', groups: ['a', 'b', 'c'] }, cluster: 'far', reason: 'ok', upstreamAssertion: { token: `eyJ.${long(900)}.sig`, impersonate: 'system:serviceaccount:kubegate-users:carol' } },
  ],
  [
    "allow through a tunnel, to one pod's node",
    { allowed: true, identity: { user: 'dan', groups: [] }, cluster: 'far', reason: 'ok', upstreamAssertion: { token: 'eyJ.a.sig', impersonate: 'system:serviceaccount:kubegate-users:dan' }, tunnelNode: 'far.kubegate-agent-7f9c-x2' },
  ],
  ['allow with long and non-ASCII text', { allowed: true, identity: { user: 'zoë-🦊', groups: [long(39), long(40), long(127), long(128), long(20_000)] }, cluster: 'ä', reason: `é${long(200)}😀` }],
  ['deny 400', { allowed: false, httpStatus: 400, message: 'kubegate: refused a malformed request path: x', reason: 'bad-request-path:dot-segment', identity: { user: 'alice', groups: ['dev'] } }],
  ['deny 401 without identity', { allowed: false, httpStatus: 401, message: 'kubegate: a client certificate is required', reason: 'no-identity' }],
  ['deny 403 with attributes and policy', { allowed: false, httpStatus: 403, message: 'kubegate: no rule allows it', reason: 'no-rule: x', identity: { user: 'a', groups: [] }, cluster: 'alpha', attributes, policy: 'p' }],
  ['deny 404', { allowed: false, httpStatus: 404, message: 'kubegate: no cluster "nope"', reason: 'unknown-cluster', cluster: 'nope' }],
  ['deny 503', { allowed: false, httpStatus: 503, message: 'kubegate: the audit trail cannot record this request right now', reason: 'audit write failed: disk full' }],
  ['deny 503 to try again', { allowed: false, httpStatus: 503, message: 'kubegate: cluster "far" is disconnected; its agent was last seen 2026-12-07T18:42:04.727Z', reason: 'agent between connections', cluster: 'far', retryAfterSeconds: 1 }],
  ['deny with empty reason', { allowed: false, httpStatus: 403, message: '', reason: '' }],
];

test.each(decisions)('%s: the same bytes as protobufjs', (_name, decision) => {
  for (const headers of <Record<string, string>[]>[{}, { 'impersonate-extra-scopes': 'x', 'Impersonate-Extra-Foo': 'y', accept: '*/*' }]) {
    const r = request(headers);
    expect(encodeCheckResponseFrame(decision, r).equals(viaProtobufjs(decision, r))).toBe(true);
  }
});

test('the answer decodes to the decision, with identity headers and metadata', () => {
  const [, decision] = decisions[0]!;
  const frame = encodeCheckResponseFrame(decision, request({ 'impersonate-extra-x': 'y' }));
  expect(frame[0]).toBe(0);
  expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
  const decoded = responseType.toObject(responseType.decode(frame.subarray(5)), { enums: String }) as any;
  expect(decoded.status).toEqual({ code: 0 });
  expect(decoded.ok_response.headers.map((h: any) => [h.header.key, h.header.value, h.append_action])).toEqual([
    ['impersonate-user', 'alice', 'OVERWRITE_IF_EXISTS_OR_ADD'],
    ['impersonate-group', 'dev', 'APPEND_IF_EXISTS_OR_ADD'],
    ['impersonate-group', 'ops', 'APPEND_IF_EXISTS_OR_ADD'],
  ]);
  expect(decoded.ok_response.headers_to_remove).toEqual(['impersonate-extra-x']);
  expect(fromStruct(decoded.dynamic_metadata)).toMatchObject({ user: 'alice', groups: ['dev', 'ops'], resource: 'pods/log', decision: 'allow' });
});

test("the edge looks the tunnel up by the pod's node when the decision names one, else by the cluster", () => {
  const metadataOf = (decision: Decision) => fromStruct((responseType.toObject(responseType.decode(encodeCheckResponseFrame(decision, request()).subarray(5))) as any).dynamic_metadata);
  expect(metadataOf(decisions.find(([name]) => name.includes("one pod's node"))![1])).toMatchObject({ cluster: 'far', tunnel: 'far.kubegate-agent-7f9c-x2' });
  expect(metadataOf(decisions.find(([name]) => name === 'allow through a tunnel')![1])).toMatchObject({ cluster: 'far', tunnel: 'far' });
  // A refusal never points at a pod.
  expect(metadataOf(decisions.find(([name]) => name === 'deny 404')![1])).toMatchObject({ cluster: 'nope', tunnel: 'nope' });
});

test('a 503 that should pass by itself carries Retry-After, which client-go honours for any verb; other refusals do not', () => {
  const headersOf = (decision: Decision) => ((responseType.toObject(responseType.decode(encodeCheckResponseFrame(decision, request()).subarray(5)), { enums: String }) as any).denied_response.headers as any[]).map((h) => [h.header.key, h.header.value]);
  expect(headersOf(decisions.find(([name]) => name === 'deny 503 to try again')![1])).toEqual([['content-type', 'application/json'], ['retry-after', '1']]);
  expect(headersOf(decisions.find(([name]) => name === 'deny 503')![1])).toEqual([['content-type', 'application/json']]);
});

test('answers do not share memory: a later answer leaves an earlier one as it was', () => {
  const first = encodeCheckResponseFrame(decisions[0]![1], request());
  const copy = Buffer.from(first);
  encodeCheckResponseFrame(decisions[4]![1], request());
  expect(first.equals(copy)).toBe(true);
});

// Any UTF-16 code unit, lone surrogates included: protobufjs writes short and long strings
// differently there, and the encoder must do as it does.
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const text = fc.oneof(
  fc.string({ maxLength: 50 }),
  fc.string({ unit: anyCodeUnit, maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: anyCodeUnit, minLength: 100, maxLength: 3000 }),
);

test('any text in any decision: the same bytes as protobufjs', () => {
  const decisionArb: fc.Arbitrary<Decision> = fc.oneof(
    fc
      .record({
        user: text,
        groups: fc.array(text, { maxLength: 5 }),
        cluster: text,
        reason: text,
        policy: fc.option(text, { nil: undefined }),
        breakGlassId: fc.option(text, { nil: undefined }),
        token: fc.option(text, { nil: undefined }),
        withAttributes: fc.boolean(),
      })
      .map(
        (d): Decision => ({
          allowed: true,
          identity: { user: d.user, groups: d.groups },
          cluster: d.cluster,
          reason: d.reason,
          ...(d.policy !== undefined && { policy: d.policy }),
          ...(d.breakGlassId !== undefined && { breakGlassId: d.breakGlassId }),
          ...(d.token !== undefined && { upstreamAssertion: { token: d.token, impersonate: 'sa' } }),
          ...(d.withAttributes && { attributes }),
        }),
      ),
    fc
      .record({
        httpStatus: fc.constantFrom(400, 401, 403, 404, 503),
        message: text,
        reason: text,
        identity: fc.option(fc.record({ user: text, groups: fc.array(text, { maxLength: 3 }) }), { nil: undefined }),
        cluster: fc.option(text, { nil: undefined }),
        withAttributes: fc.boolean(),
      })
      .map(
        (d): Decision => ({
          allowed: false,
          httpStatus: d.httpStatus as 400 | 401 | 403 | 404 | 503,
          message: d.message,
          reason: d.reason,
          ...(d.identity !== undefined && { identity: d.identity }),
          ...(d.cluster !== undefined && { cluster: d.cluster }),
          ...(d.withAttributes && { attributes }),
        }),
      ),
  );
  const headersArb = fc.dictionary(fc.oneof(text, fc.constant('impersonate-extra-a'), fc.constant('Impersonate-Extra-B')), text, { maxKeys: 4 });
  fc.assert(
    fc.property(decisionArb, headersArb, (decision, headers) => {
      const r = request(headers);
      expect(encodeCheckResponseFrame(decision, r).equals(viaProtobufjs(decision, r))).toBe(true);
    }),
    { numRuns: 2000 },
  );
});
