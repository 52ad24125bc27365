/**
 * The agent protocol's gRPC definition (agent.proto) and its messages as TypeScript types, as
 * proto-loader decodes them (keepCase, longs as strings, oneofs named by `message`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface JoinRequest { token: string; cluster: string; public_key_pem: string }
export interface RenewRequest { public_key_pem: string }
export interface CertificateResponse { certificate_pem: string; not_after_ms: string | number }

export interface Hello {
  cluster: string;
  labels?: Record<string, string>;
  kubernetes_version?: string;
  apiserver_ca_pem?: string;
  agent_version?: string;
  apiserver_host?: string;
  apiserver_port?: number;
  managed_users?: string[];
}
export interface Heartbeat { sent_at_ms: string | number }
export interface PodStatus { ready: boolean; tunnel_node: string; leaving: boolean }
export interface CommandResult { command_id: string; ok: boolean; error?: string; impersonate_user?: string; duration_ms?: number }
export type AgentMessage =
  | { message: 'hello'; hello: Hello }
  | { message: 'heartbeat'; heartbeat: Heartbeat }
  | { message: 'result'; result: CommandResult }
  | { message: 'status'; status: PodStatus };

export interface ClusterRoleBindingSpec { cluster_role: string; namespaces?: string[] }
export interface UserAccessSpec { user: string; cluster_roles?: ClusterRoleBindingSpec[] }
export interface Welcome { idle_timeout_seconds: number; heartbeat_interval_seconds: number }
export interface Settings { idle_timeout_seconds: number }
export interface EnsureAccess { command_id: string; access: UserAccessSpec }
export interface RemoveAccess { command_id: string; user: string }
export interface TouchUsers { users: string[]; at_ms: string | number }
/** Move to another replica, make-before-break (agent.proto). */
export interface Reconnect { reason: string }
export type ControlMessage =
  | { message: 'welcome'; welcome: Welcome }
  | { message: 'ensure'; ensure: EnsureAccess }
  | { message: 'remove'; remove: RemoveAccess }
  | { message: 'touch'; touch: TouchUsers }
  | { message: 'settings'; settings: Settings }
  | { message: 'reconnect'; reconnect: Reconnect };

/** Full gRPC name of the service, for logs. */
export const AGENT_SERVICE_NAME = 'kubegate.agent.v1.AgentService';

function protoPath(): string {
  // Found by walking up, because compiled code runs from dist/ where tsc copies no .proto.
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'agent', 'protocol', 'agent.proto');
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('agent/protocol/agent.proto not found above ' + __dirname);
    dir = parent;
  }
}

let service: grpc.ServiceClientConstructor | undefined;

/** The AgentService client constructor; its `.service` is what a server registers. */
export function agentServiceDefinition(): grpc.ServiceClientConstructor {
  if (service) return service;
  const definition = protoLoader.loadSync(protoPath(), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { kubegate: { agent: { v1: { AgentService: grpc.ServiceClientConstructor } } } };
  service = loaded.kubegate.agent.v1.AgentService;
  return service;
}
