/**
 * Why: `kubegate cluster add` must work on the local stack as on a deployed hub, so the stack
 * fills the controller's agentInstall settings itself: agents reach the agent port on the
 * host's loopback, the images are the ones `kubegate dev images` last built into this state
 * directory (images.json, references by digest) or local placeholders until then (kwok nodes
 * pull nothing), and the ClusterRoles are those the local clusters' admins allow.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AgentInstallProps } from '../../control-plane/server/agent-install';
import { LOCAL_ALLOWED_CLUSTER_ROLES } from './tunnel-site';

/** What a test or `dev up` may change; the rest follows from the stack. */
export interface LocalAgentInstallOptions {
  /** @default from <stateDir>/images.json, else LOCAL_PLACEHOLDER_IMAGES */
  readonly images?: { readonly agent: string; readonly envoy: string };
  /** @default LOCAL_ALLOWED_CLUSTER_ROLES */
  readonly allowedClusterRoles?: readonly string[];
  /** @default 15 min */
  readonly defaultTtlMs?: number;
  /** @default 127.0.0.1:<the stack's agent port> */
  readonly hubAgentEndpoint?: string;
}

/** Names no registry serves: a manifest with them installs objects, and pods wait for real images. */
export const LOCAL_PLACEHOLDER_IMAGES = { agent: 'kubegate.invalid/kubegate/agent:dev', envoy: 'kubegate.invalid/kubegate/envoy:dev' } as const;

/** The agent and Envoy references `kubegate dev images` wrote, if it ran for this state directory. */
function builtImages(stateDir: string): { agent: string; envoy: string } | undefined {
  let parsed: { images?: { name?: unknown; reference?: unknown }[] };
  try {
    parsed = JSON.parse(fs.readFileSync(path.join(stateDir, 'images.json'), 'utf8')) as typeof parsed;
  } catch {
    return undefined;
  }
  const reference = (name: string) => parsed.images?.find((i) => i.name === name)?.reference;
  const [agent, envoy] = [reference('agent'), reference('envoy')];
  return typeof agent === 'string' && typeof envoy === 'string' ? { agent, envoy } : undefined;
}

export function localAgentInstall(stateDir: string, agentPort: number, options: LocalAgentInstallOptions = {}): AgentInstallProps {
  return {
    hubAgentEndpoint: options.hubAgentEndpoint ?? `127.0.0.1:${agentPort}`,
    images: options.images ?? builtImages(stateDir) ?? LOCAL_PLACEHOLDER_IMAGES,
    allowedClusterRoles: options.allowedClusterRoles ?? LOCAL_ALLOWED_CLUSTER_ROLES,
    ...(options.defaultTtlMs ? { defaultTtlMs: options.defaultTtlMs } : {}),
  };
}
