/**
 * A firewalled site: a network namespace standing in for a cluster behind a firewall. It
 * reaches the host over one veth pair (host end .1, site end .2 of a private /24 that exists
 * nowhere else), may open TCP connections only to the destinations it was given, and accepts
 * no inbound connection at all; replies on connections it opened flow both ways. Processes run
 * inside with exec()/spawn(); destroy() removes the namespace, the veth pair and every rule.
 * README.md beside this file has the diagram and the exact rules.
 */
import * as fs from 'node:fs';
import { ManagedProcess, type ManagedProcessProps } from '../process/managed-process';
import { startReadyProcess, type Readiness } from '../process/start-ready-process';
import type { ProcessPlacement } from '../process/process-placement';
import { SiteHttpBridge } from './site-http-bridge';
import { silentLogger, type Logger } from '../../control-plane/log/logger';
import { assertRoot, resolveNetworkTools, runTool, runToolSync, type NetworkTools } from './commands';
import { parsePortRange, siteEphemeralRange } from './ephemeral-ports';
import { EPHEMERAL_RANGE_FILE } from '../process/ephemeral-port-range';
import { InvalidSiteConfigError, NetnsCommandError, NoFreeSubnetError, SiteStateError, SubnetCollisionError } from './errors';
import { OUTBOUND_CHAIN, hostForwardRuleArgs, outboundRuleArgs, siteIPv4Rules, siteIPv6Rules, taggedHostRules, type OutboundDestination } from './firewall-rules';
import { addNamespace, hostRoutes } from './host-network';
import { runToCompletion, type ExecOptions, type ExecResult } from './site-exec';
import { NETNS_PREFIX, ownerTag } from './site-netns-name';
import { removeSite } from './site-removal';
import { MAX_INDEX, MIN_INDEX, SITE_POOL, overlappingRoutes, parseIPv4, subnetForIndex, subnetFromCidr, type RouteEntry, type SiteSubnet } from './subnet';

export type { OutboundDestination } from './firewall-rules';

export interface FirewalledSiteProps {
  /**
   * Short name (lower-case letters, digits, dashes; at most 24 characters). The namespace is
   * `kubegate-<name>-<pid>-<process start time>`, so parallel runs never collide and a crashed
   * run's leftovers are recognisable.
   */
  readonly name: string;
  /** The site gets 10.213.<index>.0/24 (1..254). Give at most one of index and subnet. */
  readonly index?: number;
  /** A private /24 by its network address, e.g. '10.213.7.0/24'. */
  readonly subnet?: string;
  /**
   * What the site may dial (TCP). `host` defaults to the host end of the veth pair, where the
   * edge and the control plane listen; only addresses of the host itself are ever reachable,
   * since nothing is forwarded beyond the veth. @default [] (no outbound connections at all)
   */
  readonly allowOutboundTo?: readonly OutboundDestination[];
  /** @default silentLogger */
  readonly logger?: Logger;
}

type State = 'new' | 'creating' | 'running' | 'destroyed';

const NAME_PATTERN = /^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$/;

// Sites still standing when this process exits are torn down synchronously by one 'exit'
// listener (see teardownSync), so an ordinary exit leaves nothing behind; a SIGKILLed run
// is cleaned up later by cleanupStaleSites().
const liveSites = new Set<FirewalledSite>();
let exitHookInstalled = false;
function trackSite(site: FirewalledSite): void {
  if (!exitHookInstalled) {
    process.on('exit', () => {
      for (const s of liveSites) s.teardownSync();
    });
    exitHookInstalled = true;
  }
  liveSites.add(site);
}

export class FirewalledSite {
  readonly name: string;
  /** The namespace's name, `kubegate-<name>-<pid>-<start>`. */
  readonly netns: string;
  private readonly props: FirewalledSiteProps;
  private readonly logger: Logger;
  private readonly fixedSubnet: SiteSubnet | undefined;
  private allocated: SiteSubnet | undefined;
  private tools: NetworkTools | undefined;
  private state: State = 'new';
  /** Set once `ip netns add` succeeded: until then there is nothing of ours to remove. */
  private ownsNamespace = false;
  private destroying: Promise<void> | undefined;
  private readonly destinations: Array<{ host: string; port: number }> = [];
  private readonly processes = new Set<ManagedProcess>();
  private readonly http = new SiteHttpBridge((binary, args) => this.command(binary, args));

  constructor(props: FirewalledSiteProps) {
    if (!NAME_PATTERN.test(props.name)) {
      throw new InvalidSiteConfigError('name', `'${props.name}' must be 1-24 lower-case letters, digits or dashes, starting with a letter and not ending with a dash`);
    }
    if (props.index !== undefined && props.subnet !== undefined) {
      throw new InvalidSiteConfigError('index', 'give index or subnet, not both');
    }
    this.fixedSubnet = props.index !== undefined ? subnetForIndex(props.index) : props.subnet !== undefined ? subnetFromCidr(props.subnet) : undefined;
    for (const d of props.allowOutboundTo ?? []) validateDestination(d);
    this.props = props;
    this.name = props.name;
    this.netns = `${NETNS_PREFIX}${props.name}-${ownerTag()}`;
    this.logger = props.logger ?? silentLogger;
  }

  /** The subnet, addresses and interface names; known from construction when index or subnet was given, otherwise from create(). */
  get subnet(): SiteSubnet {
    const s = this.allocated ?? this.fixedSubnet;
    if (!s) throw new SiteStateError(this.name, 'not created yet (its subnet is chosen by create())', 'read the subnet of');
    return s;
  }

  /** The host end of the veth pair (.1): where the edge and control plane listen for the site. */
  get hostAddress(): string {
    return this.subnet.hostAddress;
  }

  /** The site end (.2): the site's only non-loopback address. */
  get siteAddress(): string {
    return this.subnet.siteAddress;
  }

  /** The destinations the site may dial, as the firewall has them now. */
  get allowedDestinations(): ReadonlyArray<{ host: string; port: number }> {
    return [...this.destinations];
  }

  /** Builds the namespace, veth pair, addresses, route and firewall. Undone completely if any step fails. */
  async create(): Promise<this> {
    if (this.state !== 'new') throw new SiteStateError(this.name, this.state, 'create');
    assertRoot();
    const tools = (this.tools = resolveNetworkTools());
    this.state = 'creating';
    trackSite(this);
    this.logger.info('creating firewalled site', { site: this.name, netns: this.netns });
    try {
      await addNamespace(tools, this.netns);
      this.ownsNamespace = true;
      const subnet = (this.allocated = await this.allocateSubnet(tools));
      for (const d of this.props.allowOutboundTo ?? []) this.destinations.push({ host: d.host ?? subnet.hostAddress, port: d.port });

      // The firewall is in place before either end of the veth is up.
      await runTool(tools.ip, ['netns', 'exec', this.netns, tools.iptablesRestore], siteIPv4Rules(this.destinations));
      await runTool(tools.ip, ['netns', 'exec', this.netns, tools.ip6tablesRestore], siteIPv6Rules());
      for (const rule of hostForwardRuleArgs(this.netns, subnet.hostInterface)) {
        await runTool(tools.iptables, ['-w', '-I', ...rule]);
        await runTool(tools.ip6tables, ['-w', '-I', ...rule]);
      }

      // No IPv6 on the veth: no link-local address for anyone to reach the site by.
      await runTool(tools.ip, ['link', 'set', 'dev', subnet.hostInterface, 'addrgenmode', 'none']);
      await runTool(tools.ip, ['-n', this.netns, 'link', 'set', 'dev', subnet.siteInterface, 'addrgenmode', 'none']);
      await runTool(tools.ip, ['-n', this.netns, 'link', 'set', 'dev', 'lo', 'up']);
      await this.separateEphemeralPorts(tools);
      await runTool(tools.ip, ['addr', 'add', `${subnet.hostAddress}/24`, 'dev', subnet.hostInterface]);
      await runTool(tools.ip, ['-n', this.netns, 'addr', 'add', `${subnet.siteAddress}/24`, 'dev', subnet.siteInterface]);
      await runTool(tools.ip, ['link', 'set', 'dev', subnet.hostInterface, 'up']);
      await runTool(tools.ip, ['-n', this.netns, 'link', 'set', 'dev', subnet.siteInterface, 'up']);
      await runTool(tools.ip, ['-n', this.netns, 'route', 'add', 'default', 'via', subnet.hostAddress, 'dev', subnet.siteInterface]);
    } catch (err) {
      this.logger.error('creating firewalled site failed; removing what was built', { site: this.name, netns: this.netns, error: err });
      await this.destroy().catch((cleanupErr: unknown) => this.logger.error('cleanup after failed create failed', { netns: this.netns, error: cleanupErr }));
      throw err;
    }
    this.state = 'running';
    this.logger.info('firewalled site ready', {
      site: this.name,
      netns: this.netns,
      subnet: this.subnet.cidr,
      hostAddress: this.hostAddress,
      siteAddress: this.siteAddress,
      allowOutboundTo: this.destinations.map((d) => `${d.host}:${d.port}`),
    });
    return this;
  }

  /** Lets the site dial one more destination from now on (e.g. a port chosen after create()). */
  async allowOutbound(destination: OutboundDestination): Promise<void> {
    const tools = this.requireRunning('change the firewall of');
    validateDestination(destination);
    const host = destination.host ?? this.hostAddress;
    await runTool(tools.ip, ['netns', 'exec', this.netns, tools.iptables, '-w', '-A', OUTBOUND_CHAIN, ...outboundRuleArgs(host, destination.port)]);
    this.destinations.push({ host, port: destination.port });
    this.logger.info('outbound destination allowed', { site: this.name, netns: this.netns, destination: `${host}:${destination.port}` });
  }

  /** Runs a command inside the site to completion and returns its output; never rejects for a non-zero exit. */
  exec(command: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    let tools: NetworkTools;
    try {
      tools = this.requireRunning('run a command in');
    } catch (err) {
      return Promise.reject(err);
    }
    return runToCompletion(tools.ip, ['netns', 'exec', this.netns, command, ...args], opts);
  }

  /**
   * Starts a long-running process inside the site as a ManagedProcess (log file, unexpected-exit
   * warning, graceful stop). `ip netns exec` replaces itself with the program, so the handle's
   * pid and signals are the program's own. destroy() stops it if the caller has not.
   */
  spawn(props: ManagedProcessProps): ManagedProcess {
    const proc = ManagedProcess.start(this.insideProps(props, 'start a process in'));
    this.track(proc);
    return proc;
  }

  /** spawn() plus startReadyProcess(): resolves once `readiness` passes, stops the process if it never does. */
  async startReady(props: ManagedProcessProps, readiness: Readiness): Promise<ManagedProcess> {
    const proc = await startReadyProcess(this.insideProps(props, 'start a process in'), readiness);
    this.track(proc);
    return proc;
  }

  /** See ephemeral-ports.ts: the site's outgoing connections never take a port chosen for it. */
  private async separateEphemeralPorts(tools: NetworkTools): Promise<void> {
    const file = EPHEMERAL_RANGE_FILE;
    const range = siteEphemeralRange(parsePortRange(fs.readFileSync(file, 'utf8')));
    if (!range) {
      this.logger.warn('the host\'s ephemeral port range leaves no room for a separate one in the site; ports chosen for it may collide with its connections', { netns: this.netns });
      return;
    }
    // /proc/sys/net belongs to the network namespace of whoever opens it: written from inside.
    await runTool(tools.ip, ['netns', 'exec', this.netns, 'tee', file], `${range.low} ${range.high}\n`);
  }

  /** The command line that runs `binary args` inside the site (`ip netns exec <netns> ...`). */
  command(binary: string, args: readonly string[]): { binary: string; args: string[] } {
    const tools = this.requireRunning('run a command in');
    return { binary: tools.ip, args: ['netns', 'exec', this.netns, binary, ...args] };
  }

  /**
   * This site as a place to run and probe processes: components started through it run inside,
   * and their readiness is checked from inside too (the host cannot connect in).
   */
  get placement(): ProcessPlacement {
    return {
      description: `site ${this.name}`,
      startReady: (props, readiness) => this.startReady(props, readiness),
      request: (url, options) => this.http.request(url, options),
      command: (binary, args) => this.command(binary, args),
    };
  }

  /**
   * Stops the site's processes and removes its host-side rules, veth pair and namespace.
   * Idempotent, and safe after a failed or partial create().
   */
  destroy(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'destroyed';
      return Promise.resolve();
    }
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    const tools = this.tools!;
    this.state = 'destroyed';
    this.logger.info('destroying firewalled site', { site: this.name, netns: this.netns });
    this.http.close();
    await Promise.all([...this.processes].map((p) => p.stop()));
    this.processes.clear();
    // A namespace of this name that create() did not make (SiteExistsError) is someone else's.
    if (this.ownsNamespace) await removeSite(tools, this.netns, this.allocated?.hostInterface, this.logger);
    liveSites.delete(this);
    this.logger.info('firewalled site destroyed', { site: this.name, netns: this.netns });
  }

  /** Best-effort synchronous teardown for the process 'exit' hook. */
  teardownSync(): void {
    const tools = this.tools;
    if (!tools || !this.ownsNamespace) return;
    const pids = runToolSync(tools.ip, ['netns', 'pids', this.netns]).stdout.split(/\s+/).filter(Boolean).map(Number);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const iptables of [tools.iptables, tools.ip6tables]) {
      for (const rule of taggedHostRules(runToolSync(iptables, ['-w', '-S', 'FORWARD']).stdout)) {
        if (rule.netns === this.netns) runToolSync(iptables, ['-w', ...rule.deleteArgs]);
      }
    }
    if (this.allocated) runToolSync(tools.ip, ['link', 'del', 'dev', this.allocated.hostInterface]);
    runToolSync(tools.ip, ['netns', 'del', this.netns]);
    liveSites.delete(this);
  }

  private insideProps(props: ManagedProcessProps, action: string): ManagedProcessProps {
    const tools = this.requireRunning(action);
    return { ...props, binary: tools.ip, args: ['netns', 'exec', this.netns, props.binary, ...props.args] };
  }

  private track(proc: ManagedProcess): void {
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
  }

  private requireRunning(action: string): NetworkTools {
    if (this.state !== 'running') throw new SiteStateError(this.name, this.state === 'new' ? 'not created yet' : this.state, action);
    return this.tools!;
  }

  /**
   * The veth pair is created with a name derived from the subnet, so creating it is also what
   * claims the subnet: a second site (in this process or another) asking for the same /24 finds
   * the name taken. Routes are checked first so that a /24 the host already uses is refused.
   */
  private async allocateSubnet(tools: NetworkTools): Promise<SiteSubnet> {
    if (this.fixedSubnet) {
      await this.claim(tools, this.fixedSubnet, await hostRoutes(tools));
      return this.fixedSubnet;
    }
    // Start at a place that depends on the pid, so parallel runs rarely race for the same /24.
    const span = MAX_INDEX - MIN_INDEX + 1;
    const start = process.pid % span;
    let routes = await hostRoutes(tools);
    for (let i = 0; i < span; i++) {
      const candidate = subnetForIndex(MIN_INDEX + ((start + i) % span));
      try {
        await this.claim(tools, candidate, routes);
        return candidate;
      } catch (err) {
        if (!(err instanceof SubnetCollisionError)) throw err;
        this.logger.debug('subnet in use, trying the next', { site: this.name, subnet: candidate.cidr, conflict: err.conflict });
        routes = await hostRoutes(tools);
      }
    }
    throw new NoFreeSubnetError(SITE_POOL);
  }

  private async claim(tools: NetworkTools, subnet: SiteSubnet, routes: readonly RouteEntry[]): Promise<void> {
    const overlaps = overlappingRoutes(subnet.cidr, routes);
    if (overlaps.length > 0) throw new SubnetCollisionError(subnet.cidr, `the host's ${overlaps.join(', ')}`);
    try {
      await runTool(tools.ip, ['link', 'add', subnet.hostInterface, 'type', 'veth', 'peer', 'name', subnet.siteInterface, 'netns', this.netns]);
    } catch (err) {
      if (err instanceof NetnsCommandError && /File exists/i.test(err.stderr)) {
        throw new SubnetCollisionError(subnet.cidr, `interface ${subnet.hostInterface}, which already exists (another site holds this subnet)`);
      }
      throw err;
    }
  }
}

function validateDestination(d: OutboundDestination): void {
  if (d.host !== undefined && !parseIPv4(d.host)) {
    throw new InvalidSiteConfigError('allowOutboundTo', `host '${d.host}' is not an IPv4 address (the site resolves no names)`);
  }
  if (!Number.isInteger(d.port) || d.port < 1 || d.port > 65535) {
    throw new InvalidSiteConfigError('allowOutboundTo', `port ${d.port} is not a TCP port (1-65535)`);
  }
}
