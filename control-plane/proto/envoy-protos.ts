/**
 * Envoy's real API protos, loaded once from the npm package @grpc/grpc-js-xds (which ships them
 * under deps/), never hand-copied. One protobufjs Root serves two uses: encoding xDS resources
 * into google.protobuf.Any, and (through proto-loader) the gRPC service definitions kubegate
 * serves: ADS, ext_authz and the access-log service.
 *
 * Field names keep the protos' snake_case (keepCase), so kubegate's resource objects read like
 * Envoy's own YAML and the golden files can be compared with Envoy's documentation.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as protobuf from 'protobufjs';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';

/** Every proto file whose messages kubegate builds or whose services it serves. */
const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/service/auth/v3/external_auth.proto',
  'envoy/service/accesslog/v3/als.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/access_loggers/grpc/v3/als.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
];

const LOAD_OPTIONS = { keepCase: true } as const;

export const GRPC_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

function protoIncludeDirs(): string[] {
  const pkg = require.resolve('@grpc/grpc-js-xds/package.json');
  const deps = path.join(path.dirname(pkg), 'deps');
  const dirs = ['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'].map((d) => path.join(deps, d));
  for (const d of dirs) {
    if (!fs.existsSync(d)) {
      throw new Error(`Envoy API protos not found at ${d}: is @grpc/grpc-js-xds installed (npm ci)?`);
    }
  }
  return dirs;
}

export interface EnvoyProtos {
  readonly root: protobuf.Root;
  readonly grpc: grpc.GrpcObject;
  lookupType(fullName: string): protobuf.Type;
}

let cached: EnvoyProtos | undefined;

/** Loads (once per process) and returns Envoy's protos. Takes about a second the first time. */
export function envoyProtos(): EnvoyProtos {
  if (cached) return cached;
  const includeDirs = protoIncludeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    // protobufjs bundles the google/protobuf well-known types; use those for consistency.
    if (target.startsWith('google/protobuf/') && protobuf.common.get(target)) return target;
    for (const dir of includeDirs) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(PROTO_FILES, LOAD_OPTIONS);
  root.resolveAll();
  const packageDefinition = protoLoader.fromJSON(root.toJSON(), GRPC_LOADER_OPTIONS);
  const grpcObject = grpc.loadPackageDefinition(packageDefinition);
  cached = {
    root,
    grpc: grpcObject,
    lookupType: (fullName) => root.lookupType(fullName.replace(/^\./, '')),
  };
  return cached;
}

/** Reaches into a loaded gRPC object by dotted name, e.g. envoy.service.auth.v3.Authorization. */
export function grpcService(fullName: string): grpc.ServiceClientConstructor {
  let node: unknown = envoyProtos().grpc;
  for (const part of fullName.split('.')) {
    node = (node as Record<string, unknown>)[part];
    if (node === undefined) throw new Error(`gRPC service ${fullName} is not in the loaded protos`);
  }
  return node as grpc.ServiceClientConstructor;
}
