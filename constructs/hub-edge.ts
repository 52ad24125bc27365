/**
 * The hub's edge Envoy as Kubernetes objects: a StatefulSet of its own (it scales and restarts
 * apart from the controller), started from its bootstrap (hub-edge-bootstrap.ts: the controller
 * Service, and the client certificate the controller keeps in a Secret), a Service for the user
 * port in front of every replica, and a tunnel Service per replica. Everything else (listeners,
 * users' chains, clusters, secrets) arrives over xDS.
 *
 * Why a StatefulSet: a user's request reaches a cluster through reverse tunnels that the
 * cluster's in-cluster Envoy opened to the replica the request landed on, so every cluster must
 * hold tunnels to every replica. Each replica therefore needs an address of its own that member
 * clusters dial (its tunnel Service, selected by the pod's stable name), one Service in front
 * of all would leave a new replica without tunnels until old ones closed. A rolling update
 * replaces one replica at a time; the new one takes users' requests only once the clusters have
 * had time to dial it (readiness), and the old one leaves through hub-edge-lifecycle.ts.
 */
import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { EDGE_XDS_CLIENT_SECRET } from '../control-plane/hub-secrets/hub-secrets';
import { TUNNEL_REDIAL_MAX_BACKOFF_SECONDS } from '../agent/protocol/identities';
import { EDGE_BOOTSTRAP_DIR, EDGE_BOOTSTRAP_KEY, EDGE_XDS_CLIENT_DIR, hubEdgeBootstrapFiles } from './hub-edge-bootstrap';
import { EDGE_DRAIN_WAIT_SECONDS, EDGE_LEAVE_DELAY_SECONDS, EDGE_LIFECYCLE_PORT, EDGE_PRESTOP_PATH } from './hub-edge-lifecycle';
import { containerResources, EDGE_BOOTSTRAP_CONFIG_MAP, EDGE_NAME, harden, hubMetadata, LOCKED_CONTAINER, LOCKED_POD, podDisruptionBudget, podLabels, selectPods, spreadOverNodes } from './hub-pods';
import type { ResolvedHub } from './hub-settings';
import { publicService } from './hub-services';

/** The headless Service that governs the StatefulSet (its pods' stable names). */
export const EDGE_PODS_SERVICE = 'kubegate-edge-pods';
/** Replica i's tunnel Service. */
export const edgeTunnelServiceName = (ordinal: number) => `kubegate-edge-tunnel-${ordinal}`;
/** The label Kubernetes puts on each StatefulSet pod: its name, which a replica's tunnel Service selects. */
const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
/**
 * A started replica takes users' requests after this long: twice the longest an in-cluster
 * Envoy waits before dialling a missing edge again, and a second or two for Envoy to start.
 */
export const EDGE_TUNNELS_SETTLE_SECONDS = 2 * TUNNEL_REDIAL_MAX_BACKOFF_SECONDS + 2;

export class HubEdge extends Construct {
  readonly statefulSet: kplus.StatefulSet;

  constructor(scope: Construct, id: string, hub: ResolvedHub) {
    super(scope, id);
    const meta = (name: string) => hubMetadata(name, hub.namespace, 'edge');
    // Its own identity, holding no right and no token: the edge never calls kube-apiserver.
    const identity = new kplus.k8s.KubeServiceAccount(this, 'identity', { metadata: meta(EDGE_NAME), automountServiceAccountToken: false });
    const files = hubEdgeBootstrapFiles(hub);
    const bootstrap = new kplus.ConfigMap(this, 'bootstrap', { metadata: meta(EDGE_BOOTSTRAP_CONFIG_MAP), data: files });
    const bootstrapVolume = kplus.Volume.fromConfigMap(this, 'bootstrap-volume', bootstrap, { name: 'bootstrap' });
    // Written by the controller on its first start: until then the pod waits to be started.
    const xdsClient = kplus.Volume.fromSecret(this, 'xds-client', kplus.Secret.fromSecretName(this, 'xds-client-secret', EDGE_XDS_CLIENT_SECRET), { name: 'xds-client', defaultMode: 0o440 });
    const { ports } = hub;
    const pods = new kplus.Service(this, 'pods', { metadata: meta(EDGE_PODS_SERVICE), clusterIP: 'None', ports: [{ name: 'https', port: ports.edge, targetPort: ports.edge }] });
    selectPods(pods, 'edge');

    this.statefulSet = new kplus.StatefulSet(this, 'statefulset', {
      metadata: meta(EDGE_NAME),
      replicas: hub.edge.replicas,
      select: false,
      service: pods,
      // Replicas start and stop together (they share nothing); updates still go one at a time.
      podManagementPolicy: kplus.PodManagementPolicy.PARALLEL,
      strategy: kplus.StatefulSetUpdateStrategy.rollingUpdate(),
      serviceAccount: kplus.ServiceAccount.fromServiceAccountName(this, 'identity-ref', identity.name, { namespaceName: hub.namespace }),
      automountServiceAccountToken: false,
      securityContext: LOCKED_POD,
      // The preStop hook's waits, and some left for Envoy to stop.
      terminationGracePeriod: Duration.seconds(EDGE_LEAVE_DELAY_SECONDS + EDGE_DRAIN_WAIT_SECONDS + 10),
      podMetadata: {
        labels: { ...podLabels('edge'), 'app.kubernetes.io/part-of': 'kubegate' },
        annotations: { 'kubegate.io/bootstrap-digest': createHash('sha256').update(JSON.stringify(files)).digest('hex').slice(0, 16) },
      },
      containers: [
        {
          name: 'envoy',
          image: hub.images.envoy,
          args: [
            '-c', `${EDGE_BOOTSTRAP_DIR}/${EDGE_BOOTSTRAP_KEY}`,
            // kubegate changes Envoy's configuration over xDS, never by a hot restart.
            '--disable-hot-restart',
            // A revoked user's chain drains for one second, all of its streams told at once:
            // their watches and execs end within seconds, not Envoy's default ten minutes.
            '--drain-time-s', '1',
            '--drain-strategy', 'immediate',
            // One worker thread per CPU the pod may use, not per CPU of the node.
            '--concurrency', String(workerThreads(hub.edge.resources.limits.cpu)),
            '--log-format', '{"ts":"%Y-%m-%dT%T.%eZ","level":"%l","component":"edge","logger":"%n","msg":"%j"}',
          ],
          ports: [
            { name: 'https', number: ports.edge },
            { name: 'tunnel', number: ports.tunnel },
          ],
          securityContext: LOCKED_CONTAINER,
          resources: containerResources(hub.edge.resources),
          // Ready once the controller has programmed the user listener and the member clusters
          // have had time to dial this replica: a request it took before then would find no
          // tunnel. No liveness probe: the admin port listens on the pod's loopback only, and
          // Envoy exits when it fails.
          readiness: kplus.Probe.fromTcpSocket({ port: ports.edge, initialDelaySeconds: Duration.seconds(EDGE_TUNNELS_SETTLE_SECONDS), periodSeconds: Duration.seconds(5), failureThreshold: 2 }),
          lifecycle: { preStop: kplus.Handler.fromHttpGet(EDGE_PRESTOP_PATH, { port: EDGE_LIFECYCLE_PORT }) },
          volumeMounts: [
            { volume: bootstrapVolume, path: EDGE_BOOTSTRAP_DIR, readOnly: true },
            { volume: xdsClient, path: EDGE_XDS_CLIENT_DIR, readOnly: true },
          ],
        },
      ],
    });
    this.statefulSet.select(kplus.LabelSelector.of({ labels: podLabels('edge') }));
    // cdk8s-plus makes the governing Service select its own label, named after the construct's
    // path, which harden() takes off the pods: the Service selects the component's labels only.
    ApiObject.of(pods).addJsonPatch(JsonPatch.remove('/spec/selector/cdk8s.io~1metadata.addr'));
    spreadOverNodes(this.statefulSet, 'edge');
    harden(this.statefulSet, { count: 1 });
    if (hub.edge.replicas > 1) podDisruptionBudget(this, meta(EDGE_NAME), 'edge');

    // With one replica the user Service also takes its tunnels, so that under LoadBalancer the
    // default tunnel address, edgeUrl's host, is served (with NodePort the fixed tunnel nodePort
    // is replica 0's Service's). More replicas are reached each at its own Service only.
    publicService(this, 'service', hub, meta(EDGE_NAME), 'edge', [
      { name: 'https', port: hub.edgeServicePort, targetPort: ports.edge, nodePort: hub.nodePorts.https },
      ...(hub.edge.replicas === 1 ? [{ name: 'tunnel', port: ports.tunnel, targetPort: ports.tunnel }] : []),
    ]);
    hub.edgeTunnelAddresses.forEach((_address, ordinal) => {
      // Tunnels need no client address (the edge checks each cluster's certificate), so these keep
      // the default traffic policy, which lets load balancers with different selectors share an address.
      const tunnel = publicService(this, `tunnel-${ordinal}`, hub, meta(edgeTunnelServiceName(ordinal)), 'edge', [
        {
          name: 'tunnel',
          // With LoadBalancer, replica i's port is ports.tunnel + i; with NodePort, its nodePort is nodePorts.tunnel + i.
          port: ports.tunnel + (hub.serviceType === 'LoadBalancer' ? ordinal : 0),
          targetPort: ports.tunnel,
          ...(hub.nodePorts.tunnel !== undefined ? { nodePort: hub.nodePorts.tunnel + ordinal } : {}),
        },
      ], { keepClientAddress: false });
      tunnel.selectLabel(POD_NAME_LABEL, `${EDGE_NAME}-${ordinal}`);
    });
  }
}

/** Whole CPUs in a CPU quantity, at least one: 500m is 1, 2 is 2, 2500m is 3. */
export function workerThreads(cpu: string): number {
  const cores = cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
  return Math.max(1, Math.ceil(cores));
}
