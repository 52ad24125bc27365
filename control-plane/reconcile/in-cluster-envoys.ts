/**
 * The reconcile loop's step for agents' in-cluster Envoys: each connected one gets the
 * configuration its agent's hello allows (AgentGateway.inClusterConfigurations). One that is
 * refused is logged and leaves the others alone.
 */
import type { Logger } from '../log/logger';
import type { SnapshotCache } from '../xds/snapshot-cache';
import { Snapshot } from '../xds/snapshot';
import type { XdsResources } from '../xds/resources';

export function publishInClusterEnvoys(cache: SnapshotCache, configurations: ReadonlyMap<string, XdsResources>, logger: Logger): void {
  for (const [nodeId, resources] of configurations) {
    try {
      cache.setSnapshot(nodeId, new Snapshot(resources));
    } catch (err) {
      logger.error('could not configure an in-cluster Envoy', { node: nodeId, error: (err as Error).message });
    }
  }
}
