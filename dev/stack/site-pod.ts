/**
 * A second agent pod of a tunnel site, as a Kubernetes rolling update starts one beside the old
 * pod: its own agent process and its own in-cluster Envoy (node `<cluster>-envoy-<index>`), the
 * agent holding the same certificate (copied from the first agent's state, as a pod reads it
 * from the identity Secret) and told where its Envoy's admin interface is. Retiring it is what
 * the kubelet does to a deleted pod: SIGTERM to the agent, which drains its Envoy and exits,
 * then the Envoy is stopped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EnvoyProcess } from '../process/envoy-process';
import { getFreePorts } from '../process/free-port';
import type { ManagedProcess } from '../process/managed-process';
import type { TunnelSite } from './tunnel-site';

/** How long a retiring pod's agent waits for the requests on its Envoy's tunnels. */
const POD_DRAIN_SECONDS = 15;

export interface SitePodOptions {
  /** Serve the agent's /healthz and /readyz on this port of the site's loopback. @default not served */
  readonly healthPort?: number;
}

export class SitePod {
  private constructor(
    readonly index: number,
    /** The in-cluster Envoy's node id at the hub. */
    readonly nodeId: string,
    readonly agent: ManagedProcess,
    readonly envoy: EnvoyProcess,
    /** The agent's /healthz and /readyz (on the site's loopback), if asked for. */
    readonly healthPort: number | undefined,
  ) {}

  static async start(site: TunnelSite, index: number, options: SitePodOptions = {}): Promise<SitePod> {
    const dir = `${site.agentStateDir}-${index}`;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.cpSync(path.join(site.agentStateDir, 'identity'), path.join(dir, 'identity'), { recursive: true });
    const [adminPort] = await getFreePorts(1);
    const args = site.agentArgs(dir, [
      '--envoy-admin', `127.0.0.1:${adminPort}`,
      '--drain-timeout-seconds', String(POD_DRAIN_SECONDS),
      ...(options.healthPort ? ['--health-address', `127.0.0.1:${options.healthPort}`] : []),
    ]);
    const agent = await site.startAgentProcess(args, `agent-${index}`);
    const nodeId = `${site.props.name}-envoy-${index}`;
    let envoy: EnvoyProcess;
    try {
      envoy = await EnvoyProcess.start({
        binary: site.props.toolchain.envoy,
        placement: site.placement,
        bootstrap: site.envoyBootstrap(nodeId, adminPort!, dir),
        adminPort: adminPort!,
        // As in a pod (constructs/kubegate-agent.ts): a drain tells the edge at once and lets
        // what is in flight finish.
        drainTimeSeconds: 600,
        workDir: path.join(site.props.stateDir, `in-cluster-envoy-${index}`),
        component: `in-cluster-envoy-${index}.${site.props.name}`,
        logger: site.props.logger.child(`in-cluster-envoy-${index}`),
      });
    } catch (err) {
      await agent.stop();
      throw err;
    }
    return new SitePod(index, nodeId, agent, envoy, options.healthPort);
  }

  /** As the kubelet ends a deleted pod: the agent first (it drains the Envoy), then the Envoy. */
  async retire(): Promise<void> {
    await this.agent.stop();
    await this.envoy.stop();
  }
}
