/**
 * Why: a fleet stack's configuration (Pulumi.<stack>.yaml under the `kubegate:` namespace) is
 * checked as a whole against one JSON Schema before anything is planned, and every problem is
 * named with the key it is under, because Pulumi's own `requireObject` checks nothing and a
 * typo would otherwise surface as a half-applied fleet. Kubeconfigs are read here too (given
 * inline as secrets, or as files), so a missing one fails the preview by name.
 *
 *   kubegate:images    {controller, envoy, agent}: every cluster runs these (bump them to upgrade)
 *   kubegate:hub       {kubeconfig | kubeconfigPath, context?, apiUrl, agentEndpoint, props}
 *   kubegate:clusters  [{name, labels?, kubeconfig | kubeconfigPath, context?, allowedClusterRoles, hubAgentEndpoint?}]
 *   kubegate:policies  {directory}: the hub's policy set (optional)
 *
 * Relative paths are taken from the project's directory (the one holding Pulumi.yaml).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { schemaCheck, type ValuePath } from '../control-plane/validation/schema-check';
import { HOST_PATTERN, PORT_PATTERN } from '../constructs/hub-props-schema';
import { PATTERNS } from '../policies/src/names';
import type { KubegateHubProps } from '../constructs/hub-props';

export interface FleetImages {
  readonly controller: string;
  readonly envoy: string;
  readonly agent: string;
}

/** A cluster's kubeconfig, read, and the file it came from (for messages). */
export interface Kubeconfig {
  readonly text: string;
  readonly source: string;
  readonly context?: string;
}

export interface HubConfig {
  readonly kubeconfig: Kubeconfig;
  readonly apiUrl: string;
  readonly agentEndpoint: string;
  /** KubegateHubProps without images (those come from kubegate:images); checked by the construct. */
  readonly props: Omit<KubegateHubProps, 'images'>;
  readonly apiWaitSeconds?: number;
}

export interface MemberClusterConfig {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly kubeconfig: Kubeconfig;
  readonly allowedClusterRoles: readonly string[];
  /** @default the hub's agentEndpoint */
  readonly hubAgentEndpoint?: string;
}

export interface FleetConfig {
  readonly images: FleetImages;
  readonly hub: HubConfig;
  readonly clusters: readonly MemberClusterConfig[];
  readonly policies?: { readonly directory: string };
}

/** The stack's configuration cannot make a fleet; `problems` names each, with its key. */
export class FleetConfigError extends Error {
  readonly code = 'ERR_FLEET_CONFIG';
  constructor(readonly problems: readonly string[]) {
    super(`the stack's configuration has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'FleetConfigError';
  }
}

const HOST_PORT = `^${HOST_PATTERN}:${PORT_PATTERN}$`;
const HTTPS_URL = `^https://${HOST_PATTERN}(:${PORT_PATTERN})?/?$`;
const text = (what: string) => ({ type: 'string', minLength: 1, problems: { type: `must be ${what}`, minLength: `must be ${what}, not empty`, required: `is required: ${what}` } });
const KUBECONFIG_FIELDS = {
  kubeconfig: text('a kubeconfig (YAML), set with `pulumi config set --secret`'),
  kubeconfigPath: text('the path of a kubeconfig file'),
  context: text('a context of the kubeconfig'),
};
const LABELS = {
  type: 'object',
  propertyNames: { pattern: PATTERNS.labelKey },
  additionalProperties: { type: 'string', pattern: PATTERNS.labelValue, problems: { type: 'must be a string', pattern: 'must be empty or at most 63 letters, digits, -, _ or ., starting and ending alphanumeric, got {got}' } },
  problems: { type: 'must be a mapping of label names to values', propertyNames: 'label name {text} must be an optional DNS prefix and /, then at most 63 letters, digits, -, _ or .' },
};

const SCHEMA = {
  type: 'object',
  properties: {
    images: {
      type: 'object',
      properties: { controller: text('an image reference'), envoy: text('an image reference'), agent: text('an image reference') },
      required: ['controller', 'envoy', 'agent'],
      additionalProperties: false,
      problems: { required: 'is required: {controller, envoy, agent} image references', type: 'must be a mapping {controller, envoy, agent}', additionalProperties: 'has an unknown image (expected one of {allowed})' },
    },
    hub: {
      type: 'object',
      properties: {
        ...KUBECONFIG_FIELDS,
        apiUrl: { type: 'string', pattern: HTTPS_URL, problems: { required: 'is required: the admin API as this machine reaches it, https://HOST:PORT', type: 'must be https://HOST:PORT', pattern: 'must be https://HOST[:PORT] with no path, got {got}' } },
        agentEndpoint: { type: 'string', pattern: HOST_PORT, problems: { required: "is required: the hub's agent port as member clusters reach it, HOST:PORT", type: 'must be HOST:PORT', pattern: 'must be HOST:PORT (port 1-65535), got {got}' } },
        props: { type: 'object', problems: { required: 'is required: the KubegateHub props (edgeUrl at least)', type: 'must be a mapping of KubegateHub props' } },
        apiWaitSeconds: { type: 'integer', minimum: 1, maximum: 3600, problems: { type: 'must be a whole number of seconds', minimum: 'must be 1 to 3600 seconds', maximum: 'must be 1 to 3600 seconds' } },
      },
      required: ['apiUrl', 'agentEndpoint', 'props'],
      additionalProperties: false,
      problems: { required: 'is required: the hub cluster and how to reach it', type: 'must be a mapping', additionalProperties: 'has an unknown key (expected one of {allowed})' },
    },
    clusters: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string', pattern: PATTERNS.clusterName, problems: { required: 'is required', type: 'must be a DNS label', pattern: 'must be a DNS label (lowercase letters, digits and -, at most 63), got {got}' } },
          labels: LABELS,
          ...KUBECONFIG_FIELDS,
          allowedClusterRoles: {
            type: 'array',
            items: { type: 'string', pattern: PATTERNS.clusterRole, problems: { type: 'must be a ClusterRole name', pattern: 'must be a ClusterRole name, got {got}' } },
            problems: { required: 'is required (may be empty): the ClusterRoles kubegate may bind users to there', type: 'must be a list of ClusterRole names' },
          },
          hubAgentEndpoint: { type: 'string', pattern: HOST_PORT, problems: { type: 'must be HOST:PORT', pattern: 'must be HOST:PORT (port 1-65535), got {got}' } },
        },
        required: ['name', 'allowedClusterRoles'],
        additionalProperties: false,
        problems: { type: 'must be a mapping {name, kubeconfig or kubeconfigPath, allowedClusterRoles, ...}', additionalProperties: 'has an unknown key (expected one of {allowed})' },
      },
      problems: { type: 'must be a list of member clusters' },
    },
    policies: {
      type: 'object',
      properties: { directory: text('a directory of policy files') },
      required: ['directory'],
      additionalProperties: false,
      problems: { type: 'must be a mapping {directory}', additionalProperties: 'has an unknown key (expected one of {allowed})' },
    },
  },
  required: ['images', 'hub'],
  additionalProperties: false,
} as const;
const check = schemaCheck(SCHEMA);

/** The `kubegate:` keys of a stack's configuration, as Pulumi hands them to the program (JSON text per key). */
export type RawConfig = Readonly<Record<string, string | undefined>>;

/**
 * Parses and checks a stack's `kubegate:` configuration, reading kubeconfig files relative to
 * `projectDir`. Throws FleetConfigError with every problem found.
 */
export function parseFleetConfig(raw: RawConfig, projectDir: string): FleetConfig {
  const problems: string[] = [];
  const value: Record<string, unknown> = {};
  for (const [key, textValue] of Object.entries(raw)) {
    if (textValue === undefined) continue;
    try {
      value[key] = JSON.parse(textValue);
    } catch {
      // A plain string where an object belongs: the schema names it.
      value[key] = textValue;
    }
  }
  for (const issue of check(value)) problems.push(`${configKey(issue.path)}: ${issue.message}`);
  if (problems.length > 0) throw new FleetConfigError(problems);

  const v = value as { images: FleetImages; hub: RawHub; clusters?: RawCluster[]; policies?: { directory: string } };
  const hubKubeconfig = readKubeconfig(v.hub, 'kubegate:hub', projectDir, problems);
  const seen = new Map<string, number>();
  const clusters: MemberClusterConfig[] = [];
  (v.clusters ?? []).forEach((c, i) => {
    const key = `kubegate:clusters[${i}]`;
    const first = seen.get(c.name);
    if (first !== undefined) problems.push(`${key}.name: "${c.name}" is also the name of kubegate:clusters[${first}]; cluster names must be unique`);
    else seen.set(c.name, i);
    const kubeconfig = readKubeconfig(c, key, projectDir, problems);
    if (kubeconfig) {
      clusters.push({
        name: c.name,
        labels: c.labels ?? {},
        kubeconfig,
        allowedClusterRoles: c.allowedClusterRoles,
        ...(c.hubAgentEndpoint ? { hubAgentEndpoint: c.hubAgentEndpoint } : {}),
      });
    }
  });
  let policies: FleetConfig['policies'];
  if (v.policies) {
    const directory = path.resolve(projectDir, v.policies.directory);
    if (!isDirectory(directory)) problems.push(`kubegate:policies.directory: ${v.policies.directory} is not a directory (resolved to ${directory})`);
    policies = { directory };
  }
  if (problems.length > 0 || !hubKubeconfig) throw new FleetConfigError(problems);
  return {
    images: v.images,
    hub: {
      kubeconfig: hubKubeconfig,
      apiUrl: v.hub.apiUrl.replace(/\/$/, ''),
      agentEndpoint: v.hub.agentEndpoint,
      props: v.hub.props,
      ...(v.hub.apiWaitSeconds ? { apiWaitSeconds: v.hub.apiWaitSeconds } : {}),
    },
    clusters,
    ...(policies ? { policies } : {}),
  };
}

interface RawKubeconfigFields {
  readonly kubeconfig?: string;
  readonly kubeconfigPath?: string;
  readonly context?: string;
}
type RawHub = RawKubeconfigFields & { apiUrl: string; agentEndpoint: string; props: Omit<KubegateHubProps, 'images'>; apiWaitSeconds?: number };
type RawCluster = RawKubeconfigFields & { name: string; labels?: Record<string, string>; allowedClusterRoles: string[]; hubAgentEndpoint?: string };

function readKubeconfig(fields: RawKubeconfigFields, key: string, projectDir: string, problems: string[]): Kubeconfig | undefined {
  const context = fields.context ? { context: fields.context } : {};
  if (fields.kubeconfig !== undefined && fields.kubeconfigPath !== undefined) {
    problems.push(`${key}: give kubeconfig or kubeconfigPath, not both`);
    return undefined;
  }
  if (fields.kubeconfig !== undefined) return { text: fields.kubeconfig, source: `${key}.kubeconfig`, ...context };
  if (fields.kubeconfigPath === undefined) {
    problems.push(`${key}: has no kubeconfig: set ${key}.kubeconfig (\`pulumi config set --secret --path '${key.replace(/^kubegate:/, '')}.kubeconfig' -- "$(cat FILE)"\`) or ${key}.kubeconfigPath`);
    return undefined;
  }
  const file = path.resolve(projectDir, fields.kubeconfigPath);
  try {
    return { text: fs.readFileSync(file, 'utf8'), source: file, ...context };
  } catch (err) {
    problems.push(`${key}.kubeconfigPath: ${fields.kubeconfigPath} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; resolved to ${file})`);
    return undefined;
  }
}

/** A value's key as `pulumi config` names it: kubegate:clusters[0].name. */
function configKey(at: ValuePath): string {
  return `kubegate:${at.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')}`;
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
