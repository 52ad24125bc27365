/**
 * Why: the whole fleet as one stack: the hub on its cluster, every member cluster joined to it
 * with the same images, and the hub's policy set from a directory. `pulumi up` installs what is
 * missing and changes only what the configuration changed; a cluster dropped from the
 * configuration is uninstalled and deregistered.
 */
import * as pulumi from '@pulumi/pulumi';
import { KubegateHubPropsError } from '../constructs/hub-props';
import { KubegateAgentPropsError } from '../constructs/kubegate-agent';
import { Hub } from './components/hub';
import { ClusterAgent } from './components/cluster-agent';
import { PolicySet } from './components/policy-set';
import { FleetConfigError, type FleetConfig } from './fleet-config';

export interface Fleet {
  readonly hub: Hub;
  readonly clusters: readonly ClusterAgent[];
  readonly policies?: PolicySet;
}

/** Declares the fleet's resources; construct props a config cannot make are FleetConfigError, naming the key. */
export function declareFleet(config: FleetConfig): Fleet {
  let hub: Hub;
  try {
    hub = new Hub('hub', {
      kubeconfig: pulumi.secret(config.hub.kubeconfig.text),
      ...(config.hub.kubeconfig.context ? { context: config.hub.kubeconfig.context } : {}),
      props: { ...config.hub.props, images: { controller: config.images.controller, envoy: config.images.envoy, agent: config.images.agent } },
      apiUrl: config.hub.apiUrl,
      agentEndpoint: config.hub.agentEndpoint,
      ...(config.hub.apiWaitSeconds ? { apiWaitMs: config.hub.apiWaitSeconds * 1000 } : {}),
    });
  } catch (err) {
    if (err instanceof KubegateHubPropsError) throw new FleetConfigError(err.problems.map((p) => (p.startsWith('images.') ? `kubegate:${p}` : `kubegate:hub.props.${p}`)));
    throw err;
  }
  const clusters = config.clusters.map((c, i) => {
    try {
      return new ClusterAgent(c.name, {
        cluster: c.name,
        labels: c.labels,
        kubeconfig: pulumi.secret(c.kubeconfig.text),
        ...(c.kubeconfig.context ? { context: c.kubeconfig.context } : {}),
        hubAccess: hub.access,
        hubAgentEndpoint: c.hubAgentEndpoint ?? hub.agentEndpoint,
        images: { agent: config.images.agent, envoy: config.images.envoy },
        allowedClusterRoles: c.allowedClusterRoles,
      });
    } catch (err) {
      if (err instanceof KubegateAgentPropsError) throw new FleetConfigError(err.problems.map((p) => `kubegate:clusters[${i}] (agent props) ${p}`));
      throw err;
    }
  });
  const policies = config.policies ? new PolicySet('policies', { directory: config.policies.directory, hubAccess: hub.access }) : undefined;
  return { hub, clusters, ...(policies ? { policies } : {}) };
}
