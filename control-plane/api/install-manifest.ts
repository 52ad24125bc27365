/**
 * Why: the manifest an install link serves must be exactly what `kubegate manifests agent`
 * prints for the same props, so it is rendered by the same construct (constructs/
 * kubegate-agent.ts), the same way: the chart's objects as YAML documents. Only the props
 * differ per cluster: its name and labels, and a fresh join token.
 */
import { App, Chart } from 'cdk8s';
import { stringify } from 'yaml';
import { KubegateAgent } from '../../constructs/kubegate-agent';
import type { AgentInstallSettings } from './agent-install-settings';

export interface AgentManifestFor {
  readonly cluster: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Absent for a trial render that only checks the settings. */
  readonly joinToken?: string;
}

/** The agent's manifest for one cluster; throws KubegateAgentPropsError when the settings cannot make an agent. */
export function renderAgentManifest(settings: AgentInstallSettings, target: AgentManifestFor): string {
  const chart = new Chart(new App(), 'kubegate-agent');
  new KubegateAgent(chart, 'agent', {
    cluster: target.cluster,
    ...(Object.keys(target.labels).length > 0 ? { labels: target.labels } : {}),
    hubAgentEndpoint: settings.hubAgentEndpoint,
    hubCaPem: settings.hubCaPem,
    ...(target.joinToken ? { joinToken: target.joinToken } : {}),
    images: { agent: settings.images.agent, envoy: settings.images.envoy },
    allowedClusterRoles: settings.allowedClusterRoles,
  });
  return chart.toJson().map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}
