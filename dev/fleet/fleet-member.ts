/**
 * Why: a member cluster of the fleet lab stands for a cluster a platform team runs somewhere
 * else: its control plane and its real node sit in a firewalled site of their own that may
 * dial only the hub's public ports, and the operator (Pulumi, kubectl on the host) reaches its
 * API through a management relay, as a platform team reaches its own clusters.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startLocalCluster, type LocalCluster } from '../local-cluster/local-cluster';
import { RealNode } from '../real-node/real-node';
import { FirewalledSite } from '../netns/firewalled-site';
import { kubeconfigThroughAccess, startSiteManagementAccess, type SiteManagementAccess } from '../netns/site-management-access';
import type { Toolchain } from '../toolchain/tools';
import type { Logger } from '../../control-plane/log/logger';

export interface FleetMember {
  readonly name: string;
  readonly site: FirewalledSite;
  /** Set once started; a member whose start failed half-way has only what was started. */
  cluster?: LocalCluster;
  node?: RealNode;
  relay?: SiteManagementAccess;
  /** The operator's kubeconfig for the member, through the relay. */
  kubeconfigFile?: string;
}

export interface FleetMemberProps {
  readonly name: string;
  /** The lab's scratch directory: the member's state goes in `<dir>/<name>`. */
  readonly dir: string;
  /** What the site may dial: the hub's agent and tunnel ports, at the hub's public address. */
  readonly allowOutboundTo: ReadonlyArray<{ readonly host?: string; readonly port: number }>;
  /** host:port of the registry the member's node pulls from. */
  readonly registry: string;
  readonly toolchain: Toolchain;
  readonly logger: Logger;
  /** Called as soon as the site exists, so that a failure later still has it torn down. */
  readonly track: (member: FleetMember) => void;
}

export async function startFleetMember(props: FleetMemberProps): Promise<FleetMember> {
  const { name, dir, toolchain, logger } = props;
  const site = await new FirewalledSite({ name: `fleet-${name}`, allowOutboundTo: props.allowOutboundTo }).create();
  const m: FleetMember = { name, site };
  props.track(m);
  m.cluster = await startLocalCluster({ name, stateDir: path.join(dir, name), toolchain, logger, controlPlane: 'full', nodes: 0, placement: site.placement });
  m.node = await RealNode.join(m.cluster, { name: `${name}-node`, stateDir: path.join(dir, `${name}-node`), registry: props.registry, toolchain, logger, site });
  const apiserver = new URL(m.cluster.apiserverUrl);
  m.relay = await startSiteManagementAccess({ site, target: { host: apiserver.hostname, port: Number(apiserver.port) } });
  m.kubeconfigFile = path.join(dir, `${name}.kubeconfig`);
  fs.writeFileSync(m.kubeconfigFile, kubeconfigThroughAccess(m.cluster, m.relay), { mode: 0o600 });
  return m;
}

/** Stops what of the member was started, relay first, site last; never throws. */
export async function stopFleetMember(m: FleetMember): Promise<void> {
  await m.relay?.stop().catch(() => undefined);
  await m.node?.stop().catch(() => undefined);
  await m.cluster?.stop().catch(() => undefined);
  await m.site.destroy().catch(() => undefined);
}
