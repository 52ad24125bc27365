/**
 * Why: a fleet to roll kubegate out to with the real Pulumi CLI, for the end-to-end test of
 * `pulumi up` (test/e2e/fleet-rollout.test.ts) and the benchmark that times it
 * (bench/fleet-rollout.ts) alike. A hub cluster on the host with a real node and cluster DNS,
 * behind one public address (a load balancer's stand-in); member clusters each in a firewalled
 * site of their own (fleet-member.ts); kubegate's images built from dist/ and pushed to a local
 * registry; a PostgreSQL on the host for the hub's store (two controllers share it, as a rolling
 * upgrade needs); an offline Pulumi home and one stack of the project's program (Pulumi.yaml,
 * stacks/), whose configuration file the lab writes; and a policy directory. The lab builds
 * none of dist/: the caller compiles first (the images run the compiled code).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocalCluster } from '../local-cluster/local-cluster';
import { startLocalCluster } from '../local-cluster/local-cluster';
import { startLocalRegistry, type LocalRegistry } from '../images/local-registry';
import { buildImages, type BuiltImage } from '../images/build-images';
import { RealNode } from '../real-node/real-node';
import { cleanupStaleSites } from '../netns/stale-site-cleanup';
import { installClusterDns } from '../cluster-dns/cluster-dns';
import { loadToolchain, type Toolchain } from '../toolchain/tools';
import { preparePulumiHome } from '../pulumi/pulumi-environment';
import { runCommand, type CommandResult } from '../process/run-command';
import { eventually } from '../process/streaming-command';
import { startPostgresServer, type PostgresServer } from '../postgres/postgres-server';
import { projectRoot } from '../../control-plane/proto/project-root';
import { silentLogger, type Logger } from '../../control-plane/log/logger';
import { ADMIN_KUBECONFIG_KEY, ADMIN_KUBECONFIG_SECRET } from '../../control-plane/hub-secrets/hub-secrets';
import { startPublicAddress, type PublicAddress } from './public-address';
import { startFleetMember, stopFleetMember, type FleetMember } from './fleet-member';
import { FLEET_LABELS, teamPolicy, writePolicyDirectory, type TeamPolicyOptions } from './fleet-policies';
import { writeStackConfigFile } from './stack-config-file';
import { PulumiStack } from './pulumi-stack';
import { kubectlIn, kubegateObjects } from './kubegate-objects';
import { relabelImages } from './relabelled-images';

export type { FleetMember } from './fleet-member';

/** The hub's namespace (the construct's default). */
export const HUB_NAMESPACE = 'kubegate-system';
/**
 * NodePorts of the hub's public Services, fixed so that every URL is known before the install.
 * `tunnel` is the first edge replica's; replica i's is tunnel + i (FLEET_EDGE_REPLICAS of them).
 */
export const FLEET_NODE_PORTS = { https: 31443, agent: 31445, api: 31446, tunnel: 31450 } as const;
/** The hub's edge replicas: two, so that the edge too is upgraded without a failed request. */
export const FLEET_EDGE_REPLICAS = 2;
/** Every edge replica's tunnel nodePort. */
export const FLEET_TUNNEL_PORTS: readonly number[] = Array.from({ length: FLEET_EDGE_REPLICAS }, (_, i) => FLEET_NODE_PORTS.tunnel + i);
/** The ClusterRoles kubegate may bind in every member. */
export const FLEET_ALLOWED_CLUSTER_ROLES = ['cluster-admin', 'view'] as const;
/** The hub's controller replicas: two, on PostgreSQL, as a rolling upgrade needs. */
export const FLEET_CONTROLLER_REPLICAS = 2;

export interface FleetLabProps {
  /**
   * Names the lab's stack, `e2e-fleet-<name>-<pid>` (stacks/Pulumi.e2e-*.yaml is ignored by
   * git), and its scratch directory. Lower-case letters, digits and dashes.
   */
  readonly name: string;
  /** The member clusters to start with (at least one): the first one's site's host end is the hub's public address. */
  readonly members: readonly string[];
  /** The groups the team policy names. @default ['team'] */
  readonly teamGroups?: readonly string[];
  /** How the team policy binds the teams in each member (fleet-policies.ts). @default view only */
  readonly teamPolicy?: TeamPolicyOptions;
  /** Leave the scratch directory behind at stop(). @default false */
  readonly keepDir?: boolean;
  /** Where the lab says what it is starting. @default silent */
  readonly progress?: Logger;
}

/** The images as `kubegate:images` and the constructs take them. */
export interface FleetImages {
  readonly controller: string;
  readonly envoy: string;
  readonly agent: string;
}

export class FleetLab {
  readonly tools: Toolchain = loadToolchain();
  readonly root = projectRoot();
  /** The compiled CLI of this checkout (`kubegate`, with `dev`). */
  readonly cliPath = path.join(this.root, 'dist', 'dev', 'cli', 'main.js');
  /** stacks/Pulumi.<stack>.yaml, where Pulumi.yaml's stackConfigDir says. */
  readonly configFile: string;
  readonly members: FleetMember[] = [];
  dir!: string;
  registry!: LocalRegistry;
  /** The images built from dist/, by digest. */
  images!: readonly BuiltImage[];
  /** What writeConfig puts in kubegate:images: the built images until an upgrade says otherwise (useImages). */
  private deployedImages?: FleetImages;
  hub!: LocalCluster;
  hubNode!: RealNode;
  hubPublic!: PublicAddress;
  /** The hub's store, on the host, reached by the hub node's pods at the host's end of its link. */
  postgres!: PostgresServer;
  /** The database the hub's store is in (freshStore() moves to a new one). */
  storeUrl!: string;
  /** The admin API as the operator on the host reaches it. */
  apiUrl!: string;
  policyDir!: string;
  /** Set by fetchAdminKubeconfig(), once a hub has made it. */
  adminKubeconfig: string | undefined;
  /** The Pulumi stack, `e2e-fleet-<name>-<pid>`. */
  readonly stackName: string;
  private readonly progress: Logger;
  private stack: PulumiStack | undefined;

  private constructor(private readonly props: FleetLabProps) {
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(props.name)) throw new Error(`fleet lab name "${props.name}": use lower-case letters, digits and dashes`);
    if (props.members.length === 0) throw new Error('a fleet lab starts with at least one member cluster: its site gives the hub its public address');
    this.progress = props.progress ?? silentLogger;
    this.stackName = `e2e-fleet-${props.name}-${process.pid}`;
    this.configFile = path.join(this.root, 'stacks', `Pulumi.${this.stackName}.yaml`);
  }

  /** Starts everything and inits the stack; on failure, stops what was started and rethrows. */
  static async start(props: FleetLabProps): Promise<FleetLab> {
    const lab = new FleetLab(props);
    try {
      await lab.startAll();
      return lab;
    } catch (err) {
      await lab.stop();
      throw err;
    }
  }

  private async startAll(): Promise<void> {
    const { tools, root } = this;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `kubegate-fleet-${this.props.name}-`));
    this.progress.info('fleet lab: building the images', { dir: this.dir });
    this.registry = await startLocalRegistry({ crane: tools.crane, dir: path.join(this.dir, 'registry'), logger: silentLogger });
    this.images = await buildImages({ crane: tools.crane, registry: this.registry.address, projectRoot: root, node: process.execPath, envoy: tools.envoy, workDir: path.join(this.dir, 'images'), logger: silentLogger });
    await cleanupStaleSites();
    this.progress.info('fleet lab: starting the hub cluster');
    this.hub = await startLocalCluster({ name: 'hub', stateDir: path.join(this.dir, 'hub'), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0 });
    this.hubNode = await RealNode.join(this.hub, { name: 'hub-node', stateDir: path.join(this.dir, 'hub-node'), registry: this.registry.address, toolchain: tools, logger: silentLogger });
    await installClusterDns(this.hub, { crane: tools.crane, coredns: tools.coredns, registry: this.registry.address, workDir: path.join(this.dir, 'dns') });
    this.postgres = await startPostgresServer({ alsoListenOn: { address: this.hubNode.hostAddress, clients: '10.215.0.0/16' } });
    await this.freshStore();
    const [first, ...rest] = this.props.members;
    // The first member's site's host end is the hub's public address: every site may dial it.
    await this.startMember(first!);
    this.hubPublic = await startPublicAddress({ address: this.members[0]!.site.hostAddress, ports: [...new Set([...Object.values(FLEET_NODE_PORTS), ...FLEET_TUNNEL_PORTS])], target: this.hubNode.address });
    this.apiUrl = `https://${this.hubPublic.address}:${FLEET_NODE_PORTS.api}`;
    for (const name of rest) await this.startMember(name);
    const env = preparePulumiHome({ toolchain: tools, home: path.join(this.dir, 'pulumi-home'), stateDir: path.join(this.dir, 'pulumi-state') });
    this.stack = new PulumiStack({ pulumi: tools.pulumi, projectDir: root, stack: this.stackName, env, passphrase: 'fleet lab passphrase' });
    this.policyDir = path.join(this.dir, 'policies');
    writePolicyDirectory(this.policyDir, this.props.teamGroups ?? ['team'], this.props.teamPolicy);
    await this.pulumiOk(['stack', 'init']);
    this.progress.info('fleet lab: ready', { members: this.members.map((m) => m.name), stack: this.stackName });
  }

  /** A member cluster in a site of its own: its control plane and real node there, its API reached from the host through a relay. */
  async startMember(name: string): Promise<FleetMember> {
    if (this.members.some((m) => m.name === name)) throw new Error(`member cluster ${name} is started already`);
    this.progress.info('fleet lab: starting a member cluster', { member: name });
    // The site may dial only the hub's agent and tunnel ports, at the hub's public address.
    const allow = [FLEET_NODE_PORTS.agent, ...FLEET_TUNNEL_PORTS].map((port) => ({ ...(this.members.length > 0 ? { host: this.members[0]!.site.hostAddress } : {}), port }));
    return startFleetMember({ name, dir: this.dir, allowOutboundTo: allow, registry: this.registry.address, toolchain: this.tools, logger: silentLogger, track: (m) => this.members.push(m) });
  }

  member(name: string): FleetMember {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member cluster ${name} in the lab (it has ${this.members.map((x) => x.name).join(', ')})`);
    return m;
  }

  /** The hub's edge, as users reach it. */
  get edgeUrl(): string {
    return `https://${this.hubPublic.address}:${FLEET_NODE_PORTS.https}`;
  }

  /** Where member clusters' agents reach the hub's agent port. */
  get hubAgentEndpoint(): string {
    return `${this.hubPublic.address}:${FLEET_NODE_PORTS.agent}`;
  }

  /** The hub's props (KubegateHubProps), images aside: what the stack configures and `kubegate manifests hub` would be given. */
  hubProps(): Record<string, unknown> {
    return {
      edgeUrl: this.edgeUrl,
      serviceType: 'NodePort',
      nodePorts: FLEET_NODE_PORTS,
      apiServerNames: [this.hubPublic.address],
      controller: { replicas: FLEET_CONTROLLER_REPLICAS },
      edge: { replicas: FLEET_EDGE_REPLICAS },
      store: { postgresUrl: this.storeUrl },
    };
  }

  /** The labels member `name` is registered with. */
  clusterLabels(name: string): Record<string, string> {
    return { ...FLEET_LABELS, site: name };
  }

  /** The images as `kubegate:images` takes them. @default the lab's own */
  imagesConfig(images: readonly BuiltImage[] = this.images): FleetImages {
    const of = (name: string) => {
      const found = images.find((i) => i.name === name);
      if (!found) throw new Error(`the image set has no ${name} image`);
      return found.reference;
    };
    return { controller: of('controller'), envoy: of('envoy'), agent: of('agent') };
  }

  /** The stack configuration for these members (and the policy directory), written where Pulumi reads it; `extra` replaces keys. */
  writeConfig(memberNames: readonly string[], extra: Record<string, unknown> = {}): void {
    const config = {
      'kubegate:images': this.deployedImages ?? this.imagesConfig(),
      'kubegate:hub': { kubeconfigPath: this.hub.adminKubeconfigPath, apiUrl: this.apiUrl, agentEndpoint: this.hubAgentEndpoint, props: this.hubProps() },
      'kubegate:clusters': memberNames.map((name) => ({ name, labels: this.clusterLabels(name), kubeconfigPath: this.member(name).kubeconfigFile, allowedClusterRoles: [...FLEET_ALLOWED_CLUSTER_ROLES] })),
      'kubegate:policies': { directory: this.policyDir },
      ...extra,
    };
    writeStackConfigFile(this.configFile, config);
  }

  /** Rewrites the team policy file to name these groups. */
  writeTeamPolicy(groups: readonly string[]): void {
    fs.writeFileSync(path.join(this.policyDir, 'team.yaml'), teamPolicy(groups, this.props.teamPolicy));
  }

  /** The real CLI from the shell, in the project, for this lab's stack. */
  pulumi(args: readonly string[], timeoutMs?: number): Promise<CommandResult> {
    return this.requireStack().run(args, timeoutMs);
  }

  pulumiOk(args: readonly string[], timeoutMs?: number): Promise<string> {
    return this.requireStack().ok(args, timeoutMs);
  }

  /** The resources the stack holds, by URN (none for an empty stack). */
  stackResources(): Promise<string[]> {
    return this.requireStack().resources();
  }

  /** This checkout's `kubegate` CLI; throws unless it exits 0. */
  async kubegate(args: readonly string[], input?: string): Promise<string> {
    const r = await runCommand(process.execPath, [this.cliPath, ...args], { timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
    if (r.code !== 0) throw new Error(`kubegate ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** `kubegate ARGS` against the hub's admin API, as its administrator. */
  api(args: readonly string[]): Promise<string> {
    if (!this.adminKubeconfig) throw new Error('no admin kubeconfig yet: call fetchAdminKubeconfig() once a hub is installed');
    return this.kubegate([...args, '--server', this.apiUrl, '--kubeconfig', this.adminKubeconfig]);
  }

  /**
   * The operator's first credential, from the Secret the hub's controller created on its first
   * start, written to `<dir>/admin.kubeconfig` (again after every new install of the hub).
   */
  async fetchAdminKubeconfig(timeoutMs = 120_000): Promise<string> {
    const b64 = await eventually('the admin kubeconfig Secret', async () => {
      const r = await this.hub.kubectl(['-n', HUB_NAMESPACE, 'get', 'secret', ADMIN_KUBECONFIG_SECRET, '-o', `jsonpath={.data.${ADMIN_KUBECONFIG_KEY}}`], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(r.stderr.trim());
      return r.stdout || undefined;
    }, timeoutMs);
    const file = path.join(this.dir, 'admin.kubeconfig');
    fs.writeFileSync(file, Buffer.from(b64, 'base64'), { mode: 0o600 });
    this.adminKubeconfig = file;
    return file;
  }

  /** kubectl as the cluster's admin; throws unless it exits 0. */
  kubectlIn(cluster: LocalCluster, args: readonly string[], input?: string): Promise<string> {
    return kubectlIn(cluster, args, input);
  }

  /** kubectl with a kubeconfig (a user's, through the edge; a member's operator's, through its relay). */
  kubectlVia(kubeconfig: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
    return runCommand(this.tools.kubectl, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: opts.timeoutMs ?? 60_000, ...(opts.input !== undefined ? { input: opts.input } : {}) });
  }

  /** Objects labelled as kubegate's in a cluster (the construct's label and the agent's own). */
  kubegateObjects(cluster: LocalCluster): Promise<string[]> {
    return kubegateObjects(cluster);
  }

  /** Moves the hub's store to a new, empty database (for a hub installed afresh); resolves with its URL. */
  async freshStore(): Promise<string> {
    const database = new URL(await this.postgres.createDatabase()).pathname.slice(1);
    this.storeUrl = `postgres://postgres@${this.hubNode.hostAddress}:${this.postgres.port}/${database}`;
    return this.storeUrl;
  }

  /**
   * A second image set for an upgrade: the lab's images with the label kubegate.dev/rollout=TAG
   * added, so every reference has a new digest and the same layers (relabelled-images.ts).
   */
  relabelledImages(tag: string): Promise<BuiltImage[]> {
    return relabelImages({ crane: this.tools.crane, images: this.images, tag });
  }

  /** From now on writeConfig names these images (an upgrade stays in place for the steps after it). */
  useImages(images: FleetImages): void {
    this.deployedImages = images;
  }

  /** Stops everything that was started, members first; removes the stack's configuration file and (unless kept) the scratch directory. */
  async stop(): Promise<void> {
    for (const m of this.members) await stopFleetMember(m);
    await this.hubPublic?.stop().catch(() => undefined);
    await this.hubNode?.stop().catch(() => undefined);
    await this.hub?.stop().catch(() => undefined);
    await this.registry?.stop().catch(() => undefined);
    await this.postgres?.stop().catch(() => undefined);
    fs.rmSync(this.configFile, { force: true });
    if (this.dir && !this.props.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private requireStack(): PulumiStack {
    if (!this.stack) throw new Error('the lab has no stack yet');
    return this.stack;
  }
}
