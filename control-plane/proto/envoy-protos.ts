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
import { projectRoot } from './project-root';

/**
 * Envoy's reverse-tunnel extensions are not in @grpc/grpc-js-xds; kubegate keeps wire-compatible
 * definitions of Envoy 1.40's messages under proto/envoy-extensions/ (a drift test compares them
 * with the descriptors embedded in the installed Envoy binary, so an upgrade that renumbers a
 * field fails a test instead of being NACKed in production).
 */
export const REVERSE_TUNNEL_PROTO_FILES = [
  'envoy/extensions/bootstrap/reverse_tunnel/downstream_socket_interface/v3/downstream_reverse_connection_socket_interface.proto',
  'envoy/extensions/bootstrap/reverse_tunnel/upstream_socket_interface/v3/upstream_reverse_connection_socket_interface.proto',
  'envoy/extensions/filters/network/reverse_tunnel/v3/reverse_tunnel.proto',
  'envoy/extensions/clusters/reverse_connection/v3/reverse_connection.proto',
  'envoy/extensions/upstreams/http/reverse_tunnel/v3/reverse_tunnel_codec.proto',
];

/** Where kubegate's own copies of the protos above live. */
export function extensionProtoDir(): string {
  return path.join(projectRoot(), 'control-plane', 'proto', 'envoy-extensions');
}

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
  // ext_authz checks retried on another controller replica, never the same one twice.
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto',
  // Rewrites the answers to self reviews (kubectl auth can-i, whoami): the filter and its service.
  'envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto',
  'envoy/service/ext_proc/v3/external_processor.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/access_loggers/grpc/v3/als.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  // The edge's users split across shards: server-name matching, passthrough to internal
  // listeners, and the PROXY header that carries the client's address there.
  'envoy/extensions/matching/common_inputs/network/v3/network_inputs.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/listener/proxy_protocol/v3/proxy_protocol.proto',
  'envoy/extensions/transport_sockets/proxy_protocol/v3/upstream_proxy_protocol.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  // The in-cluster Envoy: verifies the edge's per-request assertion and injects its own
  // credential toward kube-apiserver.
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/credential_injector/v3/credential_injector.proto',
  'envoy/extensions/http/injected_credentials/generic/v3/generic.proto',
  ...REVERSE_TUNNEL_PROTO_FILES,
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
  const dirs = [extensionProtoDir(), ...['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'].map((d) => path.join(deps, d))];
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
