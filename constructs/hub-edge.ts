/**
 * The hub's edge Envoy as Kubernetes objects: a Deployment of its own (it scales and restarts
 * apart from the controller), started from its bootstrap (hub-edge-bootstrap.ts: the controller
 * Service, and the client certificate the controller keeps in a Secret), and a Service exposing
 * the user port and the reverse-tunnel port. Everything else (listeners,
 * users' chains, clusters, secrets) arrives over xDS.
 */
import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { EDGE_XDS_CLIENT_SECRET } from '../control-plane/hub-secrets/hub-secrets';
import { EDGE_BOOTSTRAP_DIR, EDGE_BOOTSTRAP_KEY, EDGE_XDS_CLIENT_DIR, hubEdgeBootstrapFiles } from './hub-edge-bootstrap';
import { containerResources, EDGE_BOOTSTRAP_CONFIG_MAP, EDGE_NAME, harden, hubMetadata, LOCKED_CONTAINER, LOCKED_POD, podDisruptionBudget, podLabels, spreadOverNodes } from './hub-pods';
import type { ResolvedHub } from './hub-settings';
import { publicService } from './hub-services';

export class HubEdge extends Construct {
  readonly deployment: kplus.Deployment;

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

    this.deployment = new kplus.Deployment(this, 'deployment', {
      metadata: meta(EDGE_NAME),
      replicas: hub.edge.replicas,
      select: false,
      strategy: kplus.DeploymentStrategy.rollingUpdate({ maxSurge: kplus.PercentOrAbsolute.absolute(1), maxUnavailable: kplus.PercentOrAbsolute.absolute(0) }),
      serviceAccount: kplus.ServiceAccount.fromServiceAccountName(this, 'identity-ref', identity.name, { namespaceName: hub.namespace }),
      automountServiceAccountToken: false,
      securityContext: LOCKED_POD,
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
          // Ready once the controller has programmed the user listener. No liveness probe: the
          // admin port listens on the pod's loopback only, and Envoy exits when it fails.
          readiness: kplus.Probe.fromTcpSocket({ port: ports.edge, periodSeconds: Duration.seconds(5), failureThreshold: 2 }),
          volumeMounts: [
            { volume: bootstrapVolume, path: EDGE_BOOTSTRAP_DIR, readOnly: true },
            { volume: xdsClient, path: EDGE_XDS_CLIENT_DIR, readOnly: true },
          ],
        },
      ],
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: podLabels('edge') }));
    spreadOverNodes(this.deployment, 'edge');
    harden(this.deployment, { count: 1 });
    if (hub.edge.replicas > 1) podDisruptionBudget(this, meta(EDGE_NAME), 'edge');

    publicService(this, 'service', hub, meta(EDGE_NAME), 'edge', [
      { name: 'https', port: hub.edgeServicePort, targetPort: ports.edge, nodePort: hub.nodePorts.https },
      { name: 'tunnel', port: ports.tunnel, targetPort: ports.tunnel, nodePort: hub.nodePorts.tunnel },
    ]);
  }
}

/** Whole CPUs in a CPU quantity, at least one: 500m is 1, 2 is 2, 2500m is 3. */
export function workerThreads(cpu: string): number {
  const cores = cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
  return Math.max(1, Math.ceil(cores));
}
