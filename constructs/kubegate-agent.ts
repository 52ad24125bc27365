/**
 * Everything one member cluster runs for kubegate, as a cdk8s construct: the agent's and the
 * proxy's namespaces, identities and least rights (KubegateAgentRbac), the join token as a
 * Secret, the Secret the agent keeps its own certificate in, and one Deployment whose pod holds
 * the relay agent and the in-cluster Envoy it feeds
 * (they share the agent's state directory, where the agent keeps the Envoy's certificate and
 * apiserver credential as file-based SDS). Both only dial out: to the hub's agent port, and
 * to the edge's tunnel listener.
 *
 * Props are checked by one JSON Schema (ajv) before anything is built, every problem named.
 */
import { Construct } from 'constructs';
import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { inClusterEnvoyBootstrap } from '../agent/runtime/in-cluster-envoy-bootstrap';
import { secretsDirectoryOf } from '../agent/runtime/agent';
import { AGENT_IDENTITY_SECRET, AGENT_SERVICE_ACCOUNT } from '../agent/rbac/rbac-names';
import { schemaCheck, dottedPath } from '../control-plane/validation/schema-check';
import { KubegateAgentRbac } from './agent-rbac';

export interface KubegateAgentProps {
  /** The cluster's name at the hub (a DNS label); users reach it as /clusters/<name>/. */
  readonly cluster: string;
  /** Labels the cluster reports to the hub (policies select clusters by them). @default none */
  readonly labels?: Readonly<Record<string, string>>;
  /** The hub's agent port, as the cluster reaches it: HOST:PORT. */
  readonly hubAgentEndpoint: string;
  /** The hub's internal CA (PEM): the agent and the Envoy verify the hub with it. Public. */
  readonly hubCaPem: string;
  /**
   * The one-time join token from `kubegate cluster add`, put in a Secret. Once joined the agent
   * holds its own certificate and no longer needs it. @default no Secret: the agent must
   * already hold a certificate
   */
  readonly joinToken?: string;
  /** Container images, by digest in production. */
  readonly images: { readonly agent: string; readonly envoy: string };
  /** The ClusterRoles kubegate may bind for users in this cluster (see KubegateAgentRbac). */
  readonly allowedClusterRoles: readonly string[];
  /** @default 'kubegate-system' */
  readonly agentNamespace?: string;
  /** @default 'kubegate-users' */
  readonly usersNamespace?: string;
  /** The in-cluster Envoy's admin port, on the pod's loopback only. @default 9901 */
  readonly envoyAdminPort?: number;
}

/** The props cannot make a working agent. */
export class KubegateAgentPropsError extends Error {
  readonly code = 'ERR_KUBEGATE_AGENT_PROPS';
  constructor(readonly problems: readonly string[]) {
    super(`invalid KubegateAgent props: ${problems.join('; ')}`);
    this.name = 'KubegateAgentPropsError';
  }
}

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const HOST_PORT = '^(\\[[^\\]]+\\]|[^:\\s]+):([1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])$';
const IMAGE = { type: 'string', pattern: '^\\S+$', problems: { type: 'must be an image reference', pattern: 'must be an image reference without spaces, got {got}' } };

const PROPS_SCHEMA = {
  type: 'object',
  properties: {
    cluster: { type: 'string', pattern: DNS_LABEL, problems: { required: 'is required', type: 'must be a DNS label', pattern: 'must be a DNS label (lowercase letters, digits and -, at most 63), got {got}' } },
    labels: { type: 'object', additionalProperties: { type: 'string', problems: { type: 'must be a string, got {got}' } }, problems: { type: 'must be a mapping of label names to values' } },
    hubAgentEndpoint: { type: 'string', pattern: HOST_PORT, problems: { required: 'is required', type: 'must be HOST:PORT', pattern: 'must be HOST:PORT (port 1-65535), got {got}' } },
    hubCaPem: { type: 'string', pattern: '-----BEGIN CERTIFICATE-----', problems: { required: 'is required', type: 'must be a PEM certificate', pattern: 'must be a PEM certificate (-----BEGIN CERTIFICATE-----)' } },
    joinToken: { type: 'string', pattern: '^\\S+$', problems: { type: 'must be a string', pattern: 'must be the token kubegate cluster add printed, without spaces' } },
    images: {
      type: 'object',
      properties: { agent: IMAGE, envoy: IMAGE },
      required: ['agent', 'envoy'],
      additionalProperties: false,
      problems: { required: 'is required', type: 'must be a mapping with agent and envoy', additionalProperties: 'unknown image (expected one of {allowed})' },
    },
    allowedClusterRoles: { type: 'array', items: { type: 'string' }, problems: { required: 'is required (may be empty)', type: 'must be a list of ClusterRole names' } },
    agentNamespace: { type: 'string', pattern: DNS_LABEL, problems: { type: 'must be a namespace name', pattern: 'must be a namespace name (DNS label), got {got}' } },
    usersNamespace: { type: 'string', pattern: DNS_LABEL, problems: { type: 'must be a namespace name', pattern: 'must be a namespace name (DNS label), got {got}' } },
    envoyAdminPort: { type: 'integer', minimum: 1, maximum: 65535, problems: { type: 'must be a port number', minimum: 'must be a port number (1-65535), got {got}', maximum: 'must be a port number (1-65535), got {got}' } },
  },
  required: ['cluster', 'hubAgentEndpoint', 'hubCaPem', 'images', 'allowedClusterRoles'],
  additionalProperties: false,
  problems: { type: 'must be an object', additionalProperties: 'unknown prop (expected one of {allowed})' },
};
const checkProps = schemaCheck(PROPS_SCHEMA);

/** Where the agent keeps its identity and the Envoy's secrets, inside the pod. */
const STATE_DIR = '/var/lib/kubegate-agent';
const HUB_CA_DIR = '/etc/kubegate/hub-ca';
const ENVOY_CONFIG_DIR = '/etc/kubegate/envoy';
const JOIN_TOKEN_DIR = '/etc/kubegate/join-token';
const NON_ROOT_UID = 65532;
/** The agent's /healthz and /readyz, on the pod's address for the kubelet's probes. */
const AGENT_HEALTH_PORT = 8081;
/** How long a stopping agent pod waits for the requests on its Envoy's tunnels. */
const AGENT_DRAIN_SECONDS = 20;
/** The ConfigMap holding the hub's CA (key ca.crt) and the Secret holding the join token (key token), in the agent's namespace. */
export const AGENT_HUB_CA_CONFIG_MAP = 'kubegate-hub-ca';
export const AGENT_JOIN_TOKEN_SECRET = 'kubegate-join-token';

export class KubegateAgent extends Construct {
  readonly rbac: KubegateAgentRbac;
  readonly deployment: kplus.Deployment;

  constructor(scope: Construct, id: string, props: KubegateAgentProps) {
    super(scope, id);
    const problems = checkProps(props).map((issue) => `${dottedPath(issue.path) || 'props'}: ${issue.message}`);
    if (problems.length > 0) throw new KubegateAgentPropsError(problems);
    this.rbac = new KubegateAgentRbac(this, 'rbac', {
      allowedClusterRoles: props.allowedClusterRoles,
      ...(props.agentNamespace && { agentNamespace: props.agentNamespace }),
      ...(props.usersNamespace && { usersNamespace: props.usersNamespace }),
    });
    const namespace = this.rbac.agentNamespace;
    const metadata = (name: string) => ({ name, namespace, labels: { 'app.kubernetes.io/part-of': 'kubegate', 'app.kubernetes.io/component': 'agent', 'kubegate.io/cluster': props.cluster } });
    const [host, port] = splitHostPort(props.hubAgentEndpoint);

    const envoyAdminPort = props.envoyAdminPort ?? 9901;
    const hubCa = new kplus.ConfigMap(this, 'hub-ca', { metadata: metadata(AGENT_HUB_CA_CONFIG_MAP), data: { 'ca.crt': props.hubCaPem } });
    const envoyConfig = new kplus.ConfigMap(this, 'envoy-config', {
      metadata: metadata('kubegate-in-cluster-envoy'),
      data: {
        'bootstrap.json': JSON.stringify(
          inClusterEnvoyBootstrap({
            // Replaced by --service-node with the pod's own (below); this one names no pod.
            nodeId: `${props.cluster}-envoy`,
            cluster: props.cluster,
            adminPort: envoyAdminPort,
            controlPlane: { host, port },
            controlPlaneCaFile: `${HUB_CA_DIR}/ca.crt`,
            secretsDirectory: secretsDirectoryOf(STATE_DIR),
          }),
          null,
          2,
        ),
      },
    });
    // Created empty; the agent keeps its certificate here, so a restarted pod needs no new token.
    // kubectl apply leaves the data the agent wrote: it was never in the applied manifest.
    new kplus.Secret(this, 'identity', { metadata: metadata(AGENT_IDENTITY_SECRET) });
    const joinToken = props.joinToken
      ? new kplus.Secret(this, 'join-token', { metadata: metadata(AGENT_JOIN_TOKEN_SECRET), stringData: { token: props.joinToken } })
      : undefined;

    const state = kplus.Volume.fromEmptyDir(this, 'state', 'state');
    const hubCaVolume = kplus.Volume.fromConfigMap(this, 'hub-ca-volume', hubCa, { name: 'hub-ca' });
    const envoyVolume = kplus.Volume.fromConfigMap(this, 'envoy-config-volume', envoyConfig, { name: 'envoy-config' });
    const tokenVolume = joinToken ? kplus.Volume.fromSecret(this, 'join-token-volume', joinToken, { name: 'join-token' }) : undefined;
    const locked = { ensureNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, user: NON_ROOT_UID, group: NON_ROOT_UID };

    this.deployment = new kplus.Deployment(this, 'deployment', {
      metadata: metadata('kubegate-agent'),
      replicas: 1,
      // An upgrade starts the new pod first and removes the old one only once the new one is
      // ready (its session is open and its Envoy holds tunnels), so the cluster always has a
      // path. For those seconds both pods serve: they share the identity Secret, the hub keeps
      // both sessions and the edge both pods' tunnels (each Envoy has its pod's node id).
      strategy: kplus.DeploymentStrategy.rollingUpdate({ maxSurge: kplus.PercentOrAbsolute.absolute(1), maxUnavailable: kplus.PercentOrAbsolute.absolute(0) }),
      // The agent's drain (AGENT_DRAIN_SECONDS) and the Envoy's wait for it fit well inside.
      terminationGracePeriod: Duration.seconds(AGENT_DRAIN_SECONDS + 20),
      serviceAccount: kplus.ServiceAccount.fromServiceAccountName(this, 'agent-identity-ref', AGENT_SERVICE_ACCOUNT, { namespaceName: namespace }),
      // The agent talks to kube-apiserver with its ServiceAccount's token.
      automountServiceAccountToken: true,
      securityContext: { ensureNonRoot: true, user: NON_ROOT_UID, group: NON_ROOT_UID, fsGroup: NON_ROOT_UID },
      podMetadata: { labels: { 'app.kubernetes.io/part-of': 'kubegate', 'app.kubernetes.io/component': 'agent' } },
      containers: [
        {
          name: 'agent',
          image: props.images.agent,
          args: [
            '--cluster', props.cluster,
            ...Object.entries(props.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
            '--control-plane', props.hubAgentEndpoint,
            '--control-plane-ca-file', `${HUB_CA_DIR}/ca.crt`,
            '--state-dir', STATE_DIR,
            '--identity-secret', `${namespace}/${AGENT_IDENTITY_SECRET}`,
            ...(joinToken ? ['--join-token-file', `${JOIN_TOKEN_DIR}/token`] : []),
            ...[...new Set(props.allowedClusterRoles)].sort().flatMap((role) => ['--allowed-cluster-role', role]),
            '--envoy-admin', `127.0.0.1:${envoyAdminPort}`,
            '--drain-timeout-seconds', String(AGENT_DRAIN_SECONDS),
            '--health-address', `0.0.0.0:${AGENT_HEALTH_PORT}`,
          ],
          ports: [{ name: 'health', number: AGENT_HEALTH_PORT }],
          // Ready once its session is open and its Envoy holds tunnels: only then does an
          // upgrade remove the old pod.
          readiness: kplus.Probe.fromHttpGet('/readyz', { port: AGENT_HEALTH_PORT, periodSeconds: Duration.seconds(2), failureThreshold: 2, timeoutSeconds: Duration.seconds(3) }),
          securityContext: locked,
          resources: { cpu: { request: kplus.Cpu.millis(20), limit: kplus.Cpu.millis(500) }, memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) } },
          volumeMounts: [
            { volume: state, path: STATE_DIR },
            { volume: hubCaVolume, path: HUB_CA_DIR, readOnly: true },
            ...(tokenVolume ? [{ volume: tokenVolume, path: JOIN_TOKEN_DIR, readOnly: true }] : []),
          ],
        },
        {
          name: 'envoy',
          image: props.images.envoy,
          args: [
            '-c', `${ENVOY_CONFIG_DIR}/bootstrap.json`,
            // Each pod's Envoy is its own node at the hub (two run during an upgrade).
            '--service-node', `${props.cluster}.$(POD_NAME)`,
            // A drain (the agent's, when the pod stops) tells the edge at once, on every tunnel,
            // to send new requests elsewhere; what is in flight may take its time to finish.
            '--drain-strategy', 'immediate',
            '--drain-time-s', '600',
            '--log-format', '%Y-%m-%dT%T.%eZ %l [%n] %v',
          ],
          envVariables: { POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME) },
          // The Envoy outlives the agent's drain of it: the kubelet stops it only once the agent
          // (stopped at once, draining it over the pod's loopback) says the drain is over.
          lifecycle: { preStop: kplus.Handler.fromHttpGet('/drained', { port: AGENT_HEALTH_PORT }) },
          securityContext: locked,
          resources: { cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.units(1) }, memory: { request: Size.mebibytes(64), limit: Size.mebibytes(512) } },
          // No probe: the admin port listens on the pod's loopback only, out of the kubelet's
          // reach; whether the hub has programmed this Envoy shows on the hub's /status.
          volumeMounts: [
            { volume: state, path: STATE_DIR, readOnly: true },
            { volume: hubCaVolume, path: HUB_CA_DIR, readOnly: true },
            { volume: envoyVolume, path: ENVOY_CONFIG_DIR, readOnly: true },
          ],
        },
      ],
    });
    // What cdk8s-plus does not say itself: no Linux capability at all, the runtime's default
    // seccomp profile, and images pulled by digest only when missing.
    const pod = ApiObject.of(this.deployment);
    pod.addJsonPatch(JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }));
    for (const i of [0, 1]) {
      pod.addJsonPatch(JsonPatch.add(`/spec/template/spec/containers/${i}/securityContext/capabilities`, { drop: ['ALL'] }));
      pod.addJsonPatch(JsonPatch.replace(`/spec/template/spec/containers/${i}/imagePullPolicy`, 'IfNotPresent'));
    }

  }
}

function splitHostPort(endpoint: string): [string, number] {
  const i = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return [host, Number(endpoint.slice(i + 1))];
}
