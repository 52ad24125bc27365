/**
 * The agent's chart: KubegateAgent, synthesised exactly as `kubegate manifests agent` does
 * (same chart and construct ids, so the objects' names and cdk8s labels agree).
 *
 * The schema: constructs/kubegate-agent.ts does not export the PROPS_SCHEMA it validates
 * with, and that file is not this generator's to change. Until it does (one word: `export`),
 * this is the same schema, rule for rule, without the construct's wording; the helm tests check
 * that the two accept and refuse the same props. When it is exported, import it here instead.
 */
import { App, Chart } from 'cdk8s';
import { KubegateAgent, type KubegateAgentProps } from '../kubegate-agent';
import type { ChartSource } from './chart-source';

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const HOST_PORT = '^(\\[[^\\]]+\\]|[^:\\s]+):([1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])$';
const IMAGE = { type: 'string', pattern: '^\\S+$' };

export const AGENT_PROPS_SCHEMA = {
  type: 'object',
  properties: {
    cluster: { type: 'string', pattern: DNS_LABEL },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    hubAgentEndpoint: { type: 'string', pattern: HOST_PORT },
    hubCaPem: { type: 'string', pattern: '-----BEGIN CERTIFICATE-----' },
    joinToken: { type: 'string', pattern: '^\\S+$' },
    images: { type: 'object', properties: { agent: IMAGE, envoy: IMAGE }, required: ['agent', 'envoy'], additionalProperties: false },
    allowedClusterRoles: { type: 'array', items: { type: 'string' } },
    agentNamespace: { type: 'string', pattern: DNS_LABEL },
    usersNamespace: { type: 'string', pattern: DNS_LABEL },
    envoyAdminPort: { type: 'integer', minimum: 1, maximum: 65535 },
  },
  required: ['cluster', 'hubAgentEndpoint', 'hubCaPem', 'images', 'allowedClusterRoles'],
  additionalProperties: false,
};

export const agentChartSource: ChartSource = {
  name: 'kubegate-agent',
  description: "kubegate's relay agent and in-cluster Envoy for one member cluster, with their namespaces and least rights",
  sourceFile: 'constructs/kubegate-agent.ts',
  propsInterface: 'KubegateAgentProps',
  schema: AGENT_PROPS_SCHEMA,
  refusals: [
    {
      when: 'eq (toString $.Values.agentNamespace) (toString $.Values.usersNamespace)',
      message: 'agentNamespace and usersNamespace must differ: the proxy may impersonate every ServiceAccount of the users namespace, the agent\'s own included',
    },
  ],
  synth(props) {
    const chart = new Chart(new App(), 'kubegate-agent');
    new KubegateAgent(chart, 'agent', props as unknown as KubegateAgentProps);
    return chart.toJson();
  },
};
