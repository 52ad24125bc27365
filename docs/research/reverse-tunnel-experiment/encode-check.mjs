// Can kubegate encode the reverse-tunnel resources although @grpc/grpc-js-xds ships no protos for
// them? Two checks, used by run.sh:
//
//   node encode-check.mjs drift ENVOY_BINARY
//     Compares the small protos in ./protos with the descriptors the Envoy binary embeds (every
//     compiled-in proto's FileDescriptorProto is in the executable): same messages, field names,
//     numbers, types and labels, apart from fields left out on purpose.
//
//   node encode-check.mjs encode CONFIG.yaml OUT.pb
//     Encodes a bootstrap written in Envoy's YAML with protobufjs, from grpc-js-xds' protos plus
//     ./protos, refusing any field protobufjs does not know (as kubegate's resource encoder does).
//     `envoy --mode validate -c OUT.pb` then shows whether Envoy reads the binary the same way.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const here = path.dirname(new URL(import.meta.url).pathname);
const require = createRequire(path.join(here, '../../../package.json'));
const protobuf = require('protobufjs');
const descriptor = require('protobufjs/ext/descriptor');
const YAML = require('yaml');
// As in control-plane/proto/envoy-protos.ts: loading proto-loader registers google/protobuf/
// descriptor.proto with protobufjs, which the udpa annotations import.
require('@grpc/proto-loader');

const LOCAL = path.join(here, 'protos');
const LOCAL_FILES = [
  'envoy/extensions/bootstrap/reverse_tunnel/downstream_socket_interface/v3/downstream_reverse_connection_socket_interface.proto',
  'envoy/extensions/bootstrap/reverse_tunnel/upstream_socket_interface/v3/upstream_reverse_connection_socket_interface.proto',
  'envoy/extensions/filters/network/reverse_tunnel/v3/reverse_tunnel.proto',
  'envoy/extensions/clusters/reverse_connection/v3/reverse_connection.proto',
  'envoy/extensions/upstreams/http/reverse_tunnel/v3/reverse_tunnel_codec.proto',
];
// Messages and the fields left out of ./protos on purpose.
const OMITTED = { 'envoy.extensions.filters.network.reverse_tunnel.v3.ReverseTunnel': ['jwt_validator'] };
// Where the binary keeps each local file's messages (one local file merges two upstream files).
const UPSTREAM_FILES = {
  'envoy/extensions/filters/network/reverse_tunnel/v3/reverse_tunnel.proto': [
    'envoy/extensions/filters/network/reverse_tunnel/v3/reverse_tunnel.proto',
    'envoy/extensions/filters/network/reverse_tunnel/v3/drain_aware_hcm.proto',
  ],
};

function loadRoot(extraFiles = []) {
  const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const dirs = [LOCAL, ...['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'].map((d) => path.join(deps, d))];
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (target.startsWith('google/protobuf/') && protobuf.common.get(target)) return target;
    for (const d of dirs) if (fs.existsSync(path.join(d, target))) return path.join(d, target);
    return target;
  };
  root.loadSync([...LOCAL_FILES, ...extraFiles], { keepCase: true });
  root.resolveAll();
  return root;
}

// --- drift ---------------------------------------------------------------------------------------
function readVarint(buf, pos) {
  let result = 0n, shift = 0n, b;
  do { b = buf[pos++]; result |= BigInt(b & 0x7f) << shift; shift += 7n; } while (b & 0x80);
  return [Number(result), pos];
}
/** Finds the serialized FileDescriptorProto named `name` in the binary and decodes it. */
function embeddedDescriptor(bin, name) {
  // field 1 (name), wire type 2: 0x0a, length, bytes. Then walk known FileDescriptorProto fields.
  const wire = { 1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 2, 7: 2, 8: 2, 9: 2, 10: 0, 11: 0, 12: 2, 14: 0 };
  const needle = Buffer.concat([Buffer.from([0x0a, name.length]), Buffer.from(name)]);
  for (let at = bin.indexOf(needle); at >= 0; at = bin.indexOf(needle, at + 1)) {
    let pos = at;
    for (;;) {
      const [tag, p] = readVarint(bin, pos);
      if (wire[tag >> 3] === undefined || wire[tag >> 3] !== (tag & 7)) break;
      if ((tag & 7) === 2) { const [len, q] = readVarint(bin, p); pos = q + len; } else pos = readVarint(bin, p)[1];
    }
    try { return descriptor.FileDescriptorProto.decode(bin.subarray(at, pos)); } catch { /* try the next match */ }
  }
  return undefined;
}
function messagesOf(fdp) {
  const out = {};
  const walk = (prefix, m) => {
    const full = `${prefix}.${m.name}`;
    out[full] = Object.fromEntries(m.field.map((f) => [f.name, `${f.number}/${f.type}/${f.label}/${(f.typeName || '').replace(/^\./, '')}`]));
    for (const n of m.nestedType) walk(full, n);
  };
  for (const m of fdp.messageType) walk(fdp.package, m);
  return out;
}
const TYPE_CODES = { double: 1, float: 2, int64: 3, uint64: 4, int32: 5, fixed64: 6, fixed32: 7, bool: 8, string: 9, bytes: 12, uint32: 13, sfixed32: 15, sfixed64: 16, sint32: 17, sint64: 18 };
/** The same signature as messagesOf(), from the protobufjs types loaded from ./protos. */
function localSignature(root, name) {
  let type;
  try { type = root.lookupType(name); } catch { return undefined; }
  return Object.fromEntries(type.fieldsArray.map((f) => {
    const code = f.resolvedType instanceof protobuf.Enum ? 14 : f.resolvedType ? 11 : TYPE_CODES[f.type];
    return [f.name, `${f.id}/${code}/${f.repeated ? 3 : 1}/${f.resolvedType ? f.resolvedType.fullName.replace(/^\./, '') : ''}`];
  }));
}
function drift(binaryPath) {
  const bin = fs.readFileSync(fs.realpathSync(binaryPath));
  const root = loadRoot();
  const localMessages = new Proxy({}, { get: (_, name) => localSignature(root, name) });
  const problems = [];
  let compared = 0;
  for (const file of LOCAL_FILES) {
    const upstream = {};
    for (const name of UPSTREAM_FILES[file] ?? [file]) {
      const fdp = embeddedDescriptor(bin, name);
      if (!fdp) { problems.push(`${name}: not found in the binary`); continue; }
      Object.assign(upstream, messagesOf(fdp));
    }
    for (const [msg, fields] of Object.entries(upstream)) {
      const mine = localMessages[msg];
      if (!mine) { problems.push(`${msg}: missing locally`); continue; }
      for (const [field, sig] of Object.entries(fields)) {
        compared++;
        if ((OMITTED[msg] ?? []).includes(field)) { if (mine[field]) problems.push(`${msg}.${field}: expected to be left out`); continue; }
        if (mine[field] !== sig) problems.push(`${msg}.${field}: binary ${sig}, local ${mine[field] ?? 'missing'}`);
      }
      for (const field of Object.keys(mine)) if (!fields[field]) problems.push(`${msg}.${field}: not in the binary`);
    }
  }
  console.log(JSON.stringify({ ok: problems.length === 0, fieldsCompared: compared, problems }));
  if (problems.length) process.exitCode = 1;
}

// --- encode --------------------------------------------------------------------------------------
const WRAPPERS = new Set(['google.protobuf.BoolValue', 'google.protobuf.UInt32Value', 'google.protobuf.UInt64Value', 'google.protobuf.Int32Value', 'google.protobuf.Int64Value', 'google.protobuf.DoubleValue', 'google.protobuf.StringValue']);
/** Envoy's YAML (proto3 JSON mapping) -> protobufjs fromObject form, refusing unknown fields. */
function convert(root, type, value, where) {
  const name = type.fullName.replace(/^\./, '');
  if (name === 'google.protobuf.Duration') {
    const m = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(String(value));
    if (!m) throw new Error(`${where}: not a duration: ${value}`);
    return { seconds: Number(m[1]), nanos: m[2] ? Number(m[2].padEnd(9, '0')) : 0 };
  }
  if (WRAPPERS.has(name)) return { value };
  if (name === 'google.protobuf.Any') {
    const typeName = String(value['@type'] ?? '').replace(/^type\.googleapis\.com\//, '');
    const inner = root.lookupType(typeName); // throws for an unknown type
    const { '@type': _t, ...rest } = value;
    return { '@type': value['@type'], ...convert(root, inner, rest, `${where}<${typeName}>`) };
  }
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key];
    if (!field) throw new Error(`${where}.${key}: unknown field of ${name}`);
    const convertOne = (x) => (field.resolvedType instanceof protobuf.Type ? convert(root, field.resolvedType, x, `${where}.${key}`) : x);
    if (field.map) out[key] = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convertOne(x)]));
    else if (field.repeated) out[key] = v.map(convertOne);
    else out[key] = convertOne(v);
  }
  return out;
}
function encode(yamlFile, outFile) {
  const root = loadRoot([
    'envoy/config/bootstrap/v3/bootstrap.proto',
    'envoy/extensions/transport_sockets/tls/v3/tls.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
    'envoy/extensions/filters/http/router/v3/router.proto',
    'envoy/extensions/filters/http/lua/v3/lua.proto',
    'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  ]);
  const Bootstrap = root.lookupType('envoy.config.bootstrap.v3.Bootstrap');
  const object = convert(root, Bootstrap, YAML.parse(fs.readFileSync(yamlFile, 'utf8')), 'bootstrap');
  const bytes = Bootstrap.encode(Bootstrap.fromObject(object)).finish();
  fs.writeFileSync(outFile, bytes);
  console.log(JSON.stringify({ ok: true, bytes: bytes.length, out: outFile }));
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'drift') drift(args[0]);
else if (cmd === 'encode') encode(args[0], args[1]);
else { console.error('usage: encode-check.mjs drift ENVOY | encode CONFIG.yaml OUT.pb'); process.exit(2); }
