/**
 * `kubegate manifests hub|agent --set ...`: the plain YAML of the hub (controller, edge Envoy)
 * or of a member cluster's agent, from the same constructs Pulumi and Helm users get
 * (constructs/kubegate-hub.ts, constructs/kubegate-agent.ts), for people who use neither:
 * `kubegate manifests hub ... | kubectl apply -f -`. Nothing is contacted; bad props are named,
 * every one, before anything is printed.
 */
import { readFileSync } from 'node:fs';
import { App, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { stringify } from 'yaml';
import { KubegateAgent, KubegateAgentPropsError, type KubegateAgentProps } from '../../../constructs/kubegate-agent';
import { KubegateHub, KubegateHubPropsError, type KubegateHubProps } from '../../../constructs/kubegate-hub';
import { AgentRbacConfigError } from '../../../constructs/agent-rbac';
import { UsageError } from '../cli-error';
import { parseOptions } from '../parse-options';
import { setValues } from '../set-values';

const HUB_HELP = `Usage: kubegate manifests hub [--images FILE] [--set KEY=VALUE ...] [--set-file KEY=PATH ...]

Prints the manifests of the hub cluster (kubectl apply -f -): the controller, the edge Envoy,
their Services, the controller's config Secret and least rights, the store, and the
NetworkPolicies between them. The controller creates its CAs, the edge's certificate and the
admin kubeconfig as Secrets on first start (constructs/kubegate-hub.md).

Props (KubegateHubProps; lists as {a,b}):
  images.controller          the controller image, by digest (required)
  images.envoy               the Envoy image, by digest (required)
  images.agent               the agent image install links deploy (needed by agentInstall)
  edgeUrl                    https://HOST[:PORT] users reach the edge at (required)
  edgeTunnelAddress          HOST:PORT member clusters reach the tunnel listener at
                             (default edgeUrl's host and the tunnel port)
  namespace                  default kubegate-system
  controller.replicas        default 1; more need PostgreSQL
  edge.replicas              default 1
  controller.cpuRequest, .cpuLimit, .memoryRequest, .memoryLimit     e.g. 100m, 1, 128Mi, 512Mi
  edge.cpuRequest, .cpuLimit, .memoryRequest, .memoryLimit           e.g. 100m, 2, 128Mi, 1Gi
  edge.userShards            listeners users' chains are split across (default 16)
  edge.adminPort             Envoy's admin port on the pod's loopback (default 9901)
  store.postgresUrl          postgres://... (put into the controller's config Secret)
  store.postgresSecret       an existing Secret holding the URL instead
  store.postgresSecretKey    its key (default url)
  store.sqliteVolumeSize     without PostgreSQL: the claim's size (default 1Gi)
  store.sqliteStorageClass   without PostgreSQL: the claim's StorageClass
  serviceType                LoadBalancer (default) or NodePort
  agentInstall.hubAgentEndpoint   one-command imports (kubegate cluster add), on when given:
                             HOST:PORT installed agents reach the agent port at (required)
  agentInstall.publicUrl     https://HOST[:PORT] the links start with, where member clusters'
                             admins reach the install port (required)
  agentInstall.allowedClusterRoles   ClusterRoles kubegate may bind there, e.g. {view,edit}
  agentInstall.publiclyTrusted   true: a publicly trusted TLS front serves publicUrl
  agentInstall.tokenTtl      a link's lifetime when cluster add names none (default 15m)
  nodePorts.https, nodePorts.tunnel, nodePorts.agent, nodePorts.api, nodePorts.install   fixed nodePorts
  serviceAnnotations.KEY     an annotation of the public Services
  ports.xds, .authz, .status, .agent, .tunnel, .api, .install, .edge   the pods' ports
                             (default 18000-18006, edge 8443)
  apiAllowedCidrs            CIDRs allowed to the admin API, e.g. {10.0.0.0/8} (default anywhere)
  apiServerNames             names or addresses the admin API is reached at, which its
                             certificate carries, e.g. {hub.example} (default loopback only)
  metricsNamespaceSelector.KEY   labels of the namespaces allowed to scrape metrics
                             (default kubernetes.io/metadata.name=monitoring)
  clusterDomain              default cluster.local
  maxCertTtl                 longest user certificate, at most 24h

--images FILE takes images.controller, images.envoy and images.agent from the results
'kubegate dev images' writes (references by digest); --set images.* still wins.
`;

const AGENT_HELP = `Usage: kubegate manifests agent [--images FILE] [--set KEY=VALUE ...] [--set-file KEY=PATH ...]

Prints the manifests one member cluster applies (kubectl apply -f -): the agent and the
in-cluster Envoy, their namespaces and least rights, and the join token as a Secret.

Props (KubegateAgentProps; lists as {a,b}):
  cluster               the cluster's name at the hub (required)
  hubAgentEndpoint      the hub's agent port as the cluster reaches it, HOST:PORT (required)
  hubCaPem              the hub's internal CA, usually --set-file hubCaPem=ca.crt (required)
  images.agent          the agent image, by digest (required)
  images.envoy          the Envoy image, by digest (required)
  allowedClusterRoles   ClusterRoles kubegate may bind for users, e.g. {view,edit} (required)
  joinToken             the one-time token 'kubegate cluster add' printed
  labels.KEY            a label the cluster reports, e.g. labels.env=prod
  agentNamespace        default kubegate-system
  usersNamespace        default kubegate-users
  envoyAdminPort        default 9901

--images FILE takes images.agent and images.envoy from the results 'kubegate dev images'
writes (references by digest); --set images.* still wins.
`;

const HELP = `Usage: kubegate manifests hub|agent [--images FILE] [--set KEY=VALUE ...] [--set-file KEY=PATH ...]

Prints plain YAML to apply with kubectl: 'hub' for the hub cluster (controller and edge),
'agent' for a member cluster. 'kubegate manifests hub --help' and 'kubegate manifests agent
--help' list each one's props.
`;

/** What each kind of manifests is made of. */
interface Manifests {
  readonly help: string;
  /** The image names of a `kubegate dev images` results file this construct takes. */
  readonly images: readonly string[];
  build(chart: Construct, props: Record<string, unknown>): void;
  isPropsError(err: unknown): boolean;
}

const MANIFESTS: Record<string, Manifests> = {
  hub: {
    help: HUB_HELP,
    images: ['controller', 'envoy', 'agent'],
    build: (chart, props) => new KubegateHub(chart, 'hub', props as unknown as KubegateHubProps),
    isPropsError: (err) => err instanceof KubegateHubPropsError,
  },
  agent: {
    help: AGENT_HELP,
    images: ['agent', 'envoy'],
    build: (chart, props) => new KubegateAgent(chart, 'agent', props as unknown as KubegateAgentProps),
    isPropsError: (err) => err instanceof KubegateAgentPropsError || err instanceof AgentRbacConfigError,
  },
};

export const manifestsCommand = {
  summary: 'print the manifests of the hub or of a member cluster (agent) as YAML',
  subcommands: Object.keys(MANIFESTS),
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseOptions(
      args,
      { set: { type: 'string', multiple: true }, 'set-file': { type: 'string', multiple: true }, images: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      true,
    );
    const [what, ...extra] = positionals;
    const kind = what === undefined ? undefined : MANIFESTS[what];
    if (values.help) {
      process.stdout.write(kind?.help ?? HELP);
      return 0;
    }
    if (!kind) throw new UsageError(what ? `unknown manifests "${what}"; use hub or agent` : 'say which manifests: hub or agent; see --help');
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const given = setValues(values.set ?? [], values['set-file'] ?? []);
    const built = values.images === undefined ? undefined : builtImages(values.images, kind.images);
    const props = built ? { ...given, images: { ...built, ...((given.images as object | undefined) ?? {}) } } : given;
    const chart = new Chart(new App(), `kubegate-${what}`);
    try {
      kind.build(chart, props);
    } catch (err) {
      if (kind.isPropsError(err)) throw new UsageError((err as Error).message);
      throw err;
    }
    process.stdout.write(chart.toJson().map((o) => stringify(o, { lineWidth: 0 })).join('---\n'));
    return 0;
  },
};

/** The named images' references from a `kubegate dev images` results file. */
function builtImages(file: string, names: readonly string[]): Record<string, string> {
  let parsed: { images?: Array<{ name?: unknown; reference?: unknown }> };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as typeof parsed;
  } catch (err) {
    throw new UsageError(`--images ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not a results file of kubegate dev images (${(err as Error).message})`}`);
  }
  const reference = (name: string) => {
    const found = Array.isArray(parsed.images) ? parsed.images.find((i) => i.name === name) : undefined;
    if (typeof found?.reference !== 'string') throw new UsageError(`--images ${file}: it names no ${name} image; run kubegate dev images again`);
    return found.reference;
  };
  return Object.fromEntries(names.map((name) => [name, reference(name)]));
}
