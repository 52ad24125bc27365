// Encodes xDS resources written as Envoy-style JSON into a binary DiscoveryResponse, with
// Envoy's own protos (shipped in @grpc/grpc-js-xds). Envoy's filesystem config source reads a
// file ending in .pb as binary protobuf, which is what it decodes from a gRPC ADS stream too, so
// the measurement is not dominated by JSON parsing inside Envoy.
import protobuf from 'protobufjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const HERE = [dirname(fileURLToPath(import.meta.url))]; // resolves to the repo's node_modules
const DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json', { paths: HERE })), 'deps');
const INCLUDE = [...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(DEPS, d)), dirname(require.resolve('protobufjs/package.json', { paths: HERE }))];
const root = new protobuf.Root();
root.resolvePath = (origin, target) =>
  target.startsWith('google/protobuf/') && protobuf.common.get(target) ? target : INCLUDE.map((d) => join(d, target)).find(existsSync) ?? target;
root.loadSync([
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/proxy_protocol/v3/proxy_protocol.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/matching/common_inputs/network/v3/network_inputs.proto',
  'xds/type/matcher/v3/matcher.proto',
  'google/protobuf/wrappers.proto',
], { keepCase: true });
root.resolveAll();

const WRAPPER = /^\.google\.protobuf\.(Bool|String|Bytes|Double|Float|U?Int(32|64))Value$/;
// protobufjs' bundled well-known types name Value's fields in camelCase, whatever keepCase says.
const toValue = (v) =>
  v === null ? { nullValue: 0 } : typeof v === 'number' ? { numberValue: v } : typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v }
  : Array.isArray(v) ? { listValue: { values: v.map(toValue) } } : { structValue: toStruct(v) };
const toStruct = (o) => ({ fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toValue(v)])) });

/** Rewrites Envoy JSON into what protobufjs' fromObject takes (Any, Duration, wrappers, Struct). */
function norm(type, obj) {
  switch (type.fullName) {
    case '.google.protobuf.Any': {
      const { '@type': url, ...rest } = obj;
      const t = root.lookupType(url.slice(url.lastIndexOf('/') + 1));
      return { type_url: url, value: t.encode(t.fromObject(norm(t, rest))).finish() };
    }
    case '.google.protobuf.Duration': {
      if (typeof obj !== 'string') return obj;
      const s = parseFloat(obj);
      return { seconds: Math.trunc(s), nanos: Math.round((s % 1) * 1e9) };
    }
    case '.google.protobuf.Struct':
      return toStruct(obj);
  }
  if (WRAPPER.test(type.fullName) && typeof obj !== 'object') return { value: obj };
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    const f = type.fields[k];
    if (!f) throw new Error(`${type.fullName} has no field ${k}`);
    const t = f.resolvedType;
    if (!(t instanceof protobuf.Type)) out[k] = v;
    else if (f.map) out[k] = Object.fromEntries(Object.entries(v).map(([mk, mv]) => [mk, norm(t, mv)]));
    else if (f.repeated) out[k] = v.map((x) => norm(t, x));
    else out[k] = norm(t, v);
  }
  return out;
}

const DiscoveryResponse = root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
/** A binary DiscoveryResponse from { version_info, resources: [{ '@type', ... }] }. */
export function encodeDiscoveryResponse(json) {
  return Buffer.from(DiscoveryResponse.encode(DiscoveryResponse.fromObject(norm(DiscoveryResponse, json))).finish());
}
