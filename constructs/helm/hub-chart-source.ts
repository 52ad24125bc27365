/**
 * The hub's chart: KubegateHub, synthesised exactly as `kubegate manifests hub` does, with the
 * schema it exports. The store's props exclude each other, so the base synthesis uses a
 * PostgreSQL URL (which also lets the controller's replica count be a traceable number) and
 * the other store props are variants with the companions the construct needs. The rules
 * across props that hub-settings.ts checks are refusals here, plus one the chart adds: with
 * NodePort it needs edgeTunnelAddress (the construct would derive it from nodePorts.tunnel,
 * an interplay of two props the generator does not derive). agentInstall is a section, given
 * whole or not (prop-plans.ts); without images.agent it is off, and the chart refuses it. The
 * edge makes a tunnel Service and a tunnel address per replica: edge.replicas is a repeat.
 */
import { App, Chart } from 'cdk8s';
import { KubegateHub, type KubegateHubProps } from '../kubegate-hub';
import { workerThreads } from '../hub-edge';
import { HUB_PROPS_SCHEMA } from '../hub-props-schema';
import { DEFAULT_HUB_PORTS } from '../hub-settings';
import { EDGE_LIFECYCLE_PORT } from '../hub-edge-lifecycle';
import { MAX_USER_CERT_TTL_MS } from '../../control-plane/credentials/user-certificate';
import { MAX_INSTALL_TTL_MS, MIN_INSTALL_TTL_MS } from '../../control-plane/agent-gateway/install-token';
import { ABSENT, PRESENT } from './prop-plans';
import type { ChartSource } from './chart-source';

const absent = (v: string) => `(kindIs "invalid" ${v})`;
const given = (v: string) => `(not (kindIs "invalid" ${v}))`;
const PORTS = Object.keys(DEFAULT_HUB_PORTS).map((p) => `(int $.Values.ports.${p})`).concat('(int $.Values.edge.adminPort)').join(' ');
const SQLITE = { 'store.postgresUrl': ABSENT, 'controller.replicas': 1 };
// The first edge replica's tunnel port as member clusters dial it (NodePort needs the address here).
const FIRST_TUNNEL_PORT = `(ternary (regexFind "[0-9]+$" (toString $.Values.edgeTunnelAddress) | int) (int $.Values.ports.tunnel) ${given('$.Values.edgeTunnelAddress')})`;
const LAST_REPLICA = '(sub (int $.Values.edge.replicas) 1)';
// Another public Service's fixed nodePort among the edge replicas' tunnel nodePorts (nodePorts.tunnel + i).
const AMONG_TUNNEL_NODE_PORTS = Object.keys(HUB_PROPS_SCHEMA.properties.nodePorts.properties)
  .filter((p) => p !== 'tunnel')
  .map((p) => `(and ${given(`$.Values.nodePorts.${p}`)} (ge (int $.Values.nodePorts.${p}) (int $.Values.nodePorts.tunnel)) (le (int $.Values.nodePorts.${p}) (add (int $.Values.nodePorts.tunnel) ${LAST_REPLICA})))`)
  .join(' ');

// A duration as control-plane/config/duration.ts reads it (1h30m, 500ms), in milliseconds.
const HELPERS = `{{- define "kubegate-hub.durationMs" -}}
{{- $ms := 0 -}}
{{- range regexFindAll "[0-9]+(ms|s|m|h|d)" . -1 -}}
{{- $unit := regexReplaceAll "^[0-9]+" . "" -}}
{{- $ms = add $ms (mul (regexFind "^[0-9]+" . | int64) (get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000) $unit)) -}}
{{- end -}}
{{- $ms -}}
{{- end -}}
`;
const CERT_TTL_MS = '(include "kubegate-hub.durationMs" (toString $.Values.maxCertTtl) | int64)';
const TOKEN_TTL_MS = '(include "kubegate-hub.durationMs" (toString $.Values.agentInstall.tokenTtl) | int64)';

export const hubChartSource: ChartSource = {
  name: 'kubegate-hub',
  description: "kubegate's hub: the controller, the edge Envoy and the NetworkPolicies between them",
  sourceFile: 'constructs/hub-props.ts',
  propsInterface: 'KubegateHubProps',
  schema: HUB_PROPS_SCHEMA,
  // A tunnel Service and a tunnel address per edge replica (hub-edge.ts), at the first one's port + i.
  repeats: ['edge.replicas'],
  plan: {
    baseAbsent: ['store.postgresSecret', 'store.postgresSecretKey', 'store.sqliteVolumeSize', 'store.sqliteStorageClass'],
    defaults: Object.fromEntries(Object.entries(DEFAULT_HUB_PORTS).map(([name, port]) => [`ports.${name}`, port])),
    sentinels: { 'store.postgresUrl': (token) => `postgres://${token}`, maxCertTtl: (_token, n) => `${n}s`, 'agentInstall.tokenTtl': (_token, n) => `${n}s` },
  },
  companions: {
    // One-command imports need the agent image: without it, no agentInstall.
    'images.agent absent': { agentInstall: ABSENT },
    'store.postgresUrl': { 'controller.replicas': 1 },
    'store.postgresSecret': { 'store.postgresUrl': ABSENT },
    'store.postgresSecretKey': { 'store.postgresUrl': ABSENT, 'store.postgresSecret': PRESENT },
    'store.sqliteVolumeSize': SQLITE,
    'store.sqliteStorageClass': SQLITE,
  },
  helpers: HELPERS,
  refusals: [
    {
      when: `and ${given('$.Values.maxCertTtl')} (or (le ${CERT_TTL_MS} 0) (gt ${CERT_TTL_MS} ${MAX_USER_CERT_TTL_MS}))`,
      message: 'maxCertTtl: must be more than nothing and at most 24h (user certificates are short-lived by design)',
    },
    {
      when: `and ${given('$.Values.agentInstall')} ${given('$.Values.agentInstall.tokenTtl')} (or (lt ${TOKEN_TTL_MS} ${MIN_INSTALL_TTL_MS}) (gt ${TOKEN_TTL_MS} ${MAX_INSTALL_TTL_MS}))`,
      message: 'agentInstall.tokenTtl: must be at least 1s and at most 24h (install links are short-lived by design)',
    },
    { when: `and ${given('$.Values.agentInstall')} ${absent('$.Values.images.agent')}`, message: 'images.agent: is required with agentInstall (the agent image install links deploy)' },
    { when: `ne (len (list ${PORTS})) (len (uniq (list ${PORTS})))`, message: 'ports and edge.adminPort: each listener needs a port of its own' },
    { when: `has ${EDGE_LIFECYCLE_PORT} (list ${PORTS})`, message: `ports and edge.adminPort: ${EDGE_LIFECYCLE_PORT} is the edge's lifecycle port (its pods' preStop hook calls it); choose another` },
    {
      when: `gt (add ${FIRST_TUNNEL_PORT} ${LAST_REPLICA}) 65535`,
      message: "edge.replicas: replica i's tunnel is at the first tunnel port + i, past 65535 for the last replica (edgeTunnelAddress or ports.tunnel is too high)",
    },
    {
      when: `and (gt (int $.Values.edge.replicas) 1) ${given('$.Values.nodePorts.tunnel')} (or ${AMONG_TUNNEL_NODE_PORTS})`,
      message: "nodePorts: another Service's nodePort is one of the edge replicas' tunnel nodePorts (nodePorts.tunnel + i, one per replica)",
    },
    {
      when: `and ${given('$.Values.nodePorts.tunnel')} (gt (add (int $.Values.nodePorts.tunnel) ${LAST_REPLICA}) 65535)`,
      message: "nodePorts.tunnel: replica i's tunnel nodePort is nodePorts.tunnel + i, past 65535 for the last replica",
    },
    {
      when: `and (ne (toString $.Values.serviceType) "NodePort") (gt (add (int $.Values.ports.tunnel) ${LAST_REPLICA}) 65535)`,
      message: "ports.tunnel: with LoadBalancer, replica i's tunnel Service listens on ports.tunnel + i, past 65535 for the last replica",
    },
    { when: `and ${given('$.Values.store.postgresUrl')} ${given('$.Values.store.postgresSecret')}`, message: 'store: give postgresUrl or postgresSecret, not both' },
    { when: `and ${given('$.Values.store.postgresSecretKey')} ${absent('$.Values.store.postgresSecret')}`, message: 'store.postgresSecretKey: only means something with store.postgresSecret' },
    {
      when: `and (or ${given('$.Values.store.postgresUrl')} ${given('$.Values.store.postgresSecret')}) (or ${given('$.Values.store.sqliteVolumeSize')} ${given('$.Values.store.sqliteStorageClass')})`,
      message: 'store.sqliteVolumeSize and store.sqliteStorageClass: only mean something without PostgreSQL',
    },
    {
      when: `and (gt (int $.Values.controller.replicas) 1) ${absent('$.Values.store.postgresUrl')} ${absent('$.Values.store.postgresSecret')}`,
      message: 'controller.replicas: more than one replica needs an external PostgreSQL (store.postgresUrl or store.postgresSecret): SQLite on a volume serves one replica only',
    },
    {
      when: `and (eq (toString $.Values.serviceType) "NodePort") (gt (int $.Values.edge.replicas) 1) ${absent('$.Values.nodePorts.tunnel')}`,
      message: "nodePorts.tunnel: is required with serviceType NodePort and more than one edge replica (replica i's tunnel nodePort is nodePorts.tunnel + i, which member clusters dial)",
    },
    {
      when: `and (eq (toString $.Values.serviceType) "NodePort") ${absent('$.Values.edgeTunnelAddress')}`,
      message: 'edgeTunnelAddress: the chart needs it with serviceType NodePort (member clusters must know where the tunnel listener is)',
      covers: ['edgeTunnelAddress absent', 'serviceType = "NodePort"'],
    },
  ],
  derived(props) {
    // The edge's Envoy runs one worker per CPU of its limit (hub-edge.ts workerThreads).
    const cpu = (props.edge as { cpuLimit?: string } | undefined)?.cpuLimit;
    if (cpu === undefined) return [];
    const c = '(toString $.Values.edge.cpuLimit)';
    return [{ number: workerThreads(cpu), expr: `(max 1 (int (ceil (ternary (divf (trimSuffix "m" ${c}) 1000) (float64 ${c}) (hasSuffix "m" ${c})))))` }];
  },
  synth(props) {
    const chart = new Chart(new App(), 'kubegate-hub');
    new KubegateHub(chart, 'hub', props as unknown as KubegateHubProps);
    return chart.toJson();
  },
};
