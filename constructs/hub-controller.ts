/**
 * The hub's controller as Kubernetes objects: its identity and the one right it needs (the
 * Secrets it keeps its shared state in, by name, and creating them on first start), its
 * configuration as a Secret, its store (a PersistentVolumeClaim for SQLite), the Deployment,
 * a PodDisruptionBudget when it has replicas to spare, and three Services: one inside the
 * cluster (xDS, ext_authz, and the metrics port a ServiceMonitor selects by name), a headless
 * one whose name resolves to every replica (the edge's xDS and ext_authz), and one
 * that member clusters' agents and operators reach from outside (agent and admin API ports, and
 * the install port with agentInstall). A replica that is stopped drains first (its agents move
 * to the other replicas), and its grace period covers that.
 */
import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { stringify } from 'yaml';
import { HUB_SECRETS } from '../control-plane/hub-secrets/hub-secrets';
import { CONTROLLER_CONFIG_DIR, CONTROLLER_CONFIG_FILE, CONTROLLER_CONFIG_KEY, CONTROLLER_STATE_DIR, hubControllerConfig } from './hub-controller-config';
import { containerResources, CONTROLLER_CONFIG_SECRET, CONTROLLER_NAME, CONTROLLER_PUBLIC_NAME, CONTROLLER_REPLICAS_NAME, harden, hubMetadata, LOCKED_CONTAINER, LOCKED_POD, podDisruptionBudget, podLabels, selectPods, SMALL_RESOURCES, spreadOverNodes } from './hub-pods';
import type { ResolvedHub } from './hub-settings';
import { publicService } from './hub-services';

/**
 * The status port's liveness and readiness paths (control-plane/server/status-http.ts): /readyz
 * answers 503 until the replica has published a configuration, so it gets no traffic before.
 */
export const CONTROLLER_HEALTH_PATH = '/healthz';
export const CONTROLLER_READINESS_PATH = '/readyz';
/** The Node.js program of the controller image (its entrypoint's first word). */
const NODE = '/usr/local/bin/node';
const STORE_URL_DIR = '/etc/kubegate/store';
const CONFIG_TEMPLATE_DIR = '/etc/kubegate/controller-template';
const RBAC_GROUP = 'rbac.authorization.k8s.io';
/**
 * A replica on SIGTERM drains before it stops (control-plane/server/control-plane.ts, drain()):
 * it waits for its Services to drop it, for its agents to move to another replica (at most
 * the agents' deadline), and for the checks in flight; then it stops its servers and closes
 * the store. With the defaults (DEFAULT_DRAIN_SETTINGS) that is at most about 25 s; Kubernetes'
 * default of 30 s would leave almost no margin before SIGKILL, which fails the checks and
 * sessions still open. test/constructs/kubegate-hub.test.ts holds the two together.
 */
export const CONTROLLER_TERMINATION_GRACE_SECONDS = 45;

export class HubController extends Construct {
  readonly deployment: kplus.Deployment;

  constructor(scope: Construct, id: string, hub: ResolvedHub) {
    super(scope, id);
    const ns = hub.namespace;
    const meta = (name: string) => hubMetadata(name, ns, 'controller');
    const serviceAccount = new kplus.k8s.KubeServiceAccount(this, 'identity', { metadata: meta(CONTROLLER_NAME) });
    this.secretsRights(hub);

    const configText = stringify(hubControllerConfig(hub), { lineWidth: 0 });
    const config = new kplus.Secret(this, 'config', { metadata: meta(CONTROLLER_CONFIG_SECRET), stringData: { [CONTROLLER_CONFIG_KEY]: configText } });
    const configVolume = kplus.Volume.fromSecret(this, 'config-volume', config, { name: 'config', defaultMode: 0o440 });
    const state =
      hub.store.kind === 'sqlite'
        ? kplus.Volume.fromPersistentVolumeClaim(this, 'state', this.sqliteClaim(hub, hub.store), { name: 'state' })
        : kplus.Volume.fromEmptyDir(this, 'state', 'state');
    const tmp = kplus.Volume.fromEmptyDir(this, 'tmp', 'tmp');
    const ports = hub.ports;
    // A busy node answers a probe late, not never: the default 1 s timeout would mark a loaded
    // replica NotReady, and the edge, which finds the replicas by the headless Service's DNS,
    // would stop sending it checks (with one replica: every check refused until Ready again).
    const probe = (path: string, options: kplus.HttpGetProbeOptions) => kplus.Probe.fromHttpGet(path, { port: ports.status, timeoutSeconds: Duration.seconds(5), ...options });

    // With the store's URL in the operator's Secret, a first container adds it to the config
    // in a memory-backed directory, so the URL is in neither the manifests nor a ConfigMap.
    const fromSecret = hub.store.kind === 'postgres-secret' ? hub.store : undefined;
    const assembled = fromSecret ? kplus.Volume.fromEmptyDir(this, 'assembled-config', 'assembled-config', { medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.mebibytes(1) }) : undefined;
    const storeUrl = fromSecret
      ? kplus.Volume.fromSecret(this, 'store-url', kplus.Secret.fromSecretName(this, 'store-url-secret', fromSecret.secret), { name: 'store-url', defaultMode: 0o440, items: { [fromSecret.key]: { path: 'url' } } })
      : undefined;

    this.deployment = new kplus.Deployment(this, 'deployment', {
      metadata: meta(CONTROLLER_NAME),
      replicas: hub.controller.replicas,
      select: false,
      // SQLite on a ReadWriteOnce volume has one writer: the old pod goes before the new one starts.
      strategy:
        hub.store.kind === 'sqlite'
          ? kplus.DeploymentStrategy.recreate()
          : kplus.DeploymentStrategy.rollingUpdate({ maxSurge: kplus.PercentOrAbsolute.absolute(1), maxUnavailable: kplus.PercentOrAbsolute.absolute(0) }),
      // Covers the drain on SIGTERM (CONTROLLER_TERMINATION_GRACE_SECONDS).
      terminationGracePeriod: Duration.seconds(CONTROLLER_TERMINATION_GRACE_SECONDS),
      serviceAccount: kplus.ServiceAccount.fromServiceAccountName(this, 'identity-ref', serviceAccount.name, { namespaceName: ns }),
      // It reads and writes its Secrets with its ServiceAccount's token.
      automountServiceAccountToken: true,
      securityContext: LOCKED_POD,
      podMetadata: {
        labels: { ...podLabels('controller'), 'app.kubernetes.io/part-of': 'kubegate' },
        // A new config rolls the pods; the Secret alone changing would not.
        annotations: { 'kubegate.io/config-digest': digest(configText) },
      },
      initContainers: fromSecret
        ? [
            {
              name: 'store-url',
              image: hub.images.controller,
              command: [NODE, '-e', assembleConfigScript()],
              securityContext: LOCKED_CONTAINER,
              resources: containerResources(SMALL_RESOURCES),
              volumeMounts: [
                { volume: configVolume, path: CONFIG_TEMPLATE_DIR, readOnly: true },
                { volume: storeUrl!, path: STORE_URL_DIR, readOnly: true },
                { volume: assembled!, path: CONTROLLER_CONFIG_DIR },
              ],
            },
          ]
        : [],
      containers: [
        {
          name: 'controller',
          image: hub.images.controller,
          args: ['--config', CONTROLLER_CONFIG_FILE],
          ports: [
            { name: 'xds', number: ports.xds },
            { name: 'authz', number: ports.authz },
            { name: 'agent', number: ports.agent },
            { name: 'api', number: ports.api },
            ...(hub.agentInstall ? [{ name: 'install', number: ports.install }] : []),
            { name: 'metrics', number: ports.status },
          ],
          securityContext: LOCKED_CONTAINER,
          resources: containerResources(hub.controller.resources),
          // First start creates the CAs and migrates the store: up to two minutes.
          startup: probe(CONTROLLER_HEALTH_PATH, { periodSeconds: Duration.seconds(2), failureThreshold: 60 }),
          liveness: probe(CONTROLLER_HEALTH_PATH, { periodSeconds: Duration.seconds(10), failureThreshold: 3 }),
          readiness: probe(CONTROLLER_READINESS_PATH, { periodSeconds: Duration.seconds(5), failureThreshold: 2 }),
          volumeMounts: [
            { volume: assembled ?? configVolume, path: CONTROLLER_CONFIG_DIR, readOnly: true },
            { volume: state, path: CONTROLLER_STATE_DIR },
            { volume: tmp, path: '/tmp' },
          ],
        },
      ],
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: podLabels('controller') }));
    spreadOverNodes(this.deployment, 'controller');
    harden(this.deployment, { count: 1, initContainers: fromSecret ? 1 : 0 });
    if (hub.controller.replicas > 1) podDisruptionBudget(this, meta(CONTROLLER_NAME), 'controller');

    const service = new kplus.Service(this, 'service', {
      metadata: meta(CONTROLLER_NAME),
      type: kplus.ServiceType.CLUSTER_IP,
      ports: [
        { name: 'xds', port: ports.xds, targetPort: ports.xds },
        { name: 'authz', port: ports.authz, targetPort: ports.authz },
        { name: 'agent', port: ports.agent, targetPort: ports.agent },
        { name: 'api', port: ports.api, targetPort: ports.api },
        { name: 'metrics', port: ports.status, targetPort: ports.status },
      ],
    });
    selectPods(service, 'controller');
    const replicas = new kplus.Service(this, 'replicas-service', {
      metadata: meta(CONTROLLER_REPLICAS_NAME),
      clusterIP: 'None',
      ports: [
        { name: 'xds', port: ports.xds, targetPort: ports.xds },
        { name: 'authz', port: ports.authz, targetPort: ports.authz },
      ],
    });
    selectPods(replicas, 'controller');
    publicService(this, 'public-service', hub, meta(CONTROLLER_PUBLIC_NAME), 'controller', [
      { name: 'agent', port: ports.agent, targetPort: ports.agent, nodePort: hub.nodePorts.agent },
      { name: 'api', port: ports.api, targetPort: ports.api, nodePort: hub.nodePorts.api },
      ...(hub.agentInstall ? [{ name: 'install', port: ports.install, targetPort: ports.install, nodePort: hub.nodePorts.install }] : []),
    ]);
  }

  /**
   * get/update/patch of exactly the hub's Secrets (control-plane/hub-secrets/hub-secrets.ts), and
   * create of Secrets in the namespace: RBAC cannot limit create by name, and the controller
   * creates them on first start. It can read no other Secret.
   */
  private secretsRights(hub: ResolvedHub): void {
    const name = `${CONTROLLER_NAME}-secrets`;
    const metadata = hubMetadata(name, hub.namespace, 'controller');
    new kplus.k8s.KubeRole(this, 'secrets-role', {
      metadata,
      rules: [
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update', 'patch'], resourceNames: [...HUB_SECRETS] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      ],
    });
    new kplus.k8s.KubeRoleBinding(this, 'secrets-binding', {
      metadata,
      subjects: [{ kind: 'ServiceAccount', name: CONTROLLER_NAME, namespace: hub.namespace }],
      roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name },
    });
  }

  private sqliteClaim(hub: ResolvedHub, store: { size: string; storageClass?: string }): kplus.IPersistentVolumeClaim {
    const claim = new kplus.k8s.KubePersistentVolumeClaim(this, 'sqlite', {
      metadata: hubMetadata(`${CONTROLLER_NAME}-state`, hub.namespace, 'controller'),
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: kplus.k8s.Quantity.fromString(store.size) } },
        ...(store.storageClass !== undefined ? { storageClassName: store.storageClass } : {}),
      },
    });
    return kplus.PersistentVolumeClaim.fromClaimName(this, 'sqlite-ref', claim.name);
  }
}

/** The first container's program: the config template plus `store:` from the operator's Secret. */
function assembleConfigScript(): string {
  return [
    "const fs = require('node:fs');",
    `const url = fs.readFileSync('${STORE_URL_DIR}/url', 'utf8').trim();`,
    `const template = fs.readFileSync('${CONFIG_TEMPLATE_DIR}/${CONTROLLER_CONFIG_KEY}', 'utf8');`,
    `fs.writeFileSync('${CONTROLLER_CONFIG_FILE}', template + 'store: ' + JSON.stringify(url) + '\\n', { mode: 0o600 });`,
  ].join(' ');
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
