/**
 * The CheckResponse of a decision (toCheckResponse in check-response.ts), written straight to
 * protobuf wire format and framed for gRPC. The Check service answers every request at the
 * edge, and building the same message through protobufjs (a plain object, fromObject into
 * message instances, a Struct of Values, then encode) cost about as much CPU as deciding.
 *
 * The bytes are exactly those protobufjs writes for toCheckResponse's object: fields in field
 * number order, and every field toCheckResponse sets written even when it holds its default
 * (status code 0, an empty string, append action 0), as protobufjs does for set fields.
 * test/authz/check-response-encoder.test.ts holds the two to that.
 *
 * Field numbers (envoy/service/auth/v3/external_auth.proto and the types it uses):
 *   CheckResponse       1 status (google.rpc.Status), 2 denied_response, 3 ok_response, 4 dynamic_metadata
 *   google.rpc.Status   1 code, 2 message
 *   DeniedHttpResponse  1 status (envoy.type.v3.HttpStatus: 1 code), 2 headers, 3 body
 *   OkHttpResponse      2 headers, 5 headers_to_remove
 *   HeaderValueOption   1 header (HeaderValue: 1 key, 2 value), 3 append_action
 *   Struct              1 fields (map entry: 1 key, 2 value)
 *   Value               3 string_value, 6 list_value (ListValue: 1 values)
 */
import type { AuthzRequest, Decision } from './decision';
import { ASSERTION_HEADER } from '../../agent/protocol/identities';
import { decisionMetadata, deniedBody, GRPC_OK, GRPC_PERMISSION_DENIED, GRPC_UNAUTHENTICATED, headersToRemove, STATUS_CODE_NAME } from './check-response';
import { ProtoWireWriter } from './proto-wire-writer';

/** envoy.config.core.v3.HeaderValueOption.HeaderAppendAction */
const APPEND_IF_EXISTS_OR_ADD = 0;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

// One writer for the process: encoding is synchronous, so no two answers share it at once.
const writer = new ProtoWireWriter();

/** The decision's CheckResponse as a gRPC length-prefixed message, ready to send. */
export function encodeCheckResponseFrame(decision: Decision, request: AuthzRequest): Buffer {
  const w = writer;
  w.begin();
  const status = w.fork(1);
  if (decision.allowed) {
    w.uint32(1, GRPC_OK);
    w.end(status);
    const ok = w.fork(3);
    if (decision.upstreamAssertion) {
      header(w, 2, ASSERTION_HEADER, decision.upstreamAssertion.token, OVERWRITE_IF_EXISTS_OR_ADD);
    } else {
      header(w, 2, 'impersonate-user', decision.identity.user, OVERWRITE_IF_EXISTS_OR_ADD);
      for (const group of decision.identity.groups) header(w, 2, 'impersonate-group', group, APPEND_IF_EXISTS_OR_ADD);
    }
    for (const name of headersToRemove(request)) w.string(5, name);
    w.end(ok);
  } else {
    w.uint32(1, decision.httpStatus === 401 ? GRPC_UNAUTHENTICATED : GRPC_PERMISSION_DENIED);
    if (decision.reason != null) w.string(2, String(decision.reason));
    w.end(status);
    const denied = w.fork(2);
    const httpStatus = w.fork(1);
    if (STATUS_CODE_NAME[decision.httpStatus] !== undefined) w.uint32(1, decision.httpStatus);
    w.end(httpStatus);
    header(w, 2, 'content-type', 'application/json', OVERWRITE_IF_EXISTS_OR_ADD);
    if (decision.retryAfterSeconds !== undefined) header(w, 2, 'retry-after', String(decision.retryAfterSeconds), OVERWRITE_IF_EXISTS_OR_ADD);
    w.string(3, deniedBody(decision));
    w.end(denied);
  }
  const metadata = w.fork(4);
  const fields = decisionMetadata(decision);
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    const entry = w.fork(1);
    w.string(1, key);
    const v = w.fork(2);
    if (typeof value === 'string') {
      w.string(3, value);
    } else {
      const list = w.fork(6);
      for (const item of value) {
        const element = w.fork(1);
        w.string(3, item);
        w.end(element);
      }
      w.end(list);
    }
    w.end(v);
    w.end(entry);
  }
  w.end(metadata);
  return w.finishFrame();
}

function header(w: ProtoWireWriter, field: number, key: string, value: string, appendAction: number): void {
  const option = w.fork(field);
  const h = w.fork(1);
  w.string(1, key);
  w.string(2, value);
  w.end(h);
  w.uint32(3, appendAction);
  w.end(option);
}
