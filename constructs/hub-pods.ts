/**
 * What the hub's two workloads share, written once: the names and labels of their objects,
 * and the lock-down every container gets (non-root uid 65532 as the images are built, read-only
 * root filesystem, no privilege escalation, no Linux capability, the runtime's default seccomp
 * profile). cdk8s-plus says some of that itself; the rest is patched onto the synthesised pod.
 */
import type { Construct } from 'constructs';
import { ApiObject, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { ResolvedResources } from './hub-settings';

export const CONTROLLER_NAME = 'kubegate-controller';
export const EDGE_NAME = 'kubegate-edge';
/** The controller's agent and admin API ports, as members clusters and operators reach them. */
export const CONTROLLER_PUBLIC_NAME = 'kubegate-controller-public';
/**
 * The controller's headless Service: its DNS name resolves to every ready replica, so the
 * edge's xDS and ext_authz clusters know each replica and a check one cannot decide is retried
 * on another (a ClusterIP would hide them behind one address).
 */
export const CONTROLLER_REPLICAS_NAME = 'kubegate-controller-replicas';
export const CONTROLLER_CONFIG_SECRET = 'kubegate-controller-config';
export const EDGE_BOOTSTRAP_CONFIG_MAP = 'kubegate-edge-bootstrap';

export type HubComponent = 'controller' | 'edge';

/** The labels that select a component's pods (Deployment, Services, PDB, NetworkPolicies). */
export function podLabels(component: HubComponent): Record<string, string> {
  return { 'app.kubernetes.io/name': 'kubegate', 'app.kubernetes.io/component': component };
}

/** A Service's selector: the component's pod labels (stable, unlike cdk8s-plus's own). */
export function selectPods(service: kplus.Service, component: HubComponent): void {
  for (const [key, value] of Object.entries(podLabels(component))) service.selectLabel(key, value);
}

/** Metadata of a hub object. */
export function hubMetadata(name: string, namespace: string, component: HubComponent | 'namespace') {
  return { name, namespace, labels: { 'app.kubernetes.io/part-of': 'kubegate', 'app.kubernetes.io/name': 'kubegate', 'app.kubernetes.io/component': component } };
}

/** The user the images run as. */
export const NON_ROOT_UID = 65532;

/** A container's security context (cdk8s-plus's words); capabilities are patched in by harden(). */
export const LOCKED_CONTAINER: kplus.ContainerSecurityContextProps = {
  ensureNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  user: NON_ROOT_UID,
  group: NON_ROOT_UID,
};

/** The pod's security context. */
export const LOCKED_POD: kplus.PodSecurityContextProps = {
  ensureNonRoot: true,
  user: NON_ROOT_UID,
  group: NON_ROOT_UID,
  // Volumes (the SQLite claim) belong to the images' group; only a volume whose top does not
  // yet is walked through again at start.
  fsGroup: NON_ROOT_UID,
  fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH,
};

/**
 * What cdk8s-plus does not say: the runtime's default seccomp profile, no capability at all,
 * and images pulled only when missing (they are by digest).
 */
export function harden(workload: kplus.Deployment | kplus.StatefulSet, containers: { count: number; initContainers?: number }): void {
  const pod = ApiObject.of(workload);
  pod.addJsonPatch(JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }));
  const lock = (path: string) => {
    pod.addJsonPatch(JsonPatch.add(`${path}/securityContext/capabilities`, { drop: ['ALL'] }));
    pod.addJsonPatch(JsonPatch.replace(`${path}/imagePullPolicy`, 'IfNotPresent'));
  };
  for (let i = 0; i < containers.count; i++) lock(`/spec/template/spec/containers/${i}`);
  for (let i = 0; i < (containers.initContainers ?? 0); i++) lock(`/spec/template/spec/initContainers/${i}`);
  // The pod template's labels are the selector's, nothing else: cdk8s-plus's own label names
  // the construct's path, which would differ between two programs making the same hub.
  pod.addJsonPatch(JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'));
}

/**
 * Replicas on different nodes when the cluster has enough of them (preferred, so a small
 * cluster still runs every replica), selected by the component's own labels.
 */
export function spreadOverNodes(workload: kplus.Deployment | kplus.StatefulSet, component: HubComponent): void {
  ApiObject.of(workload).addJsonPatch(
    JsonPatch.add('/spec/template/spec/affinity', {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: podLabels(component) }, topologyKey: 'kubernetes.io/hostname' } }],
      },
    }),
  );
}

/** Requests and limits in cdk8s-plus's terms (CPU as given, memory as mebibytes). */
export function containerResources(given: ResolvedResources): kplus.ContainerResources {
  const cpu = (q: string) => (q.endsWith('m') ? kplus.Cpu.millis(Number(q.slice(0, -1))) : kplus.Cpu.units(Number(q)));
  const memory = (q: string) => (q.endsWith('Gi') ? Size.gibibytes(Number(q.slice(0, -2))) : Size.mebibytes(Number(q.slice(0, -2))));
  return {
    cpu: { request: cpu(given.requests.cpu), limit: cpu(given.limits.cpu) },
    memory: { request: memory(given.requests.memory), limit: memory(given.limits.memory) },
  };
}

/** A container that runs a few lines of Node.js and ends. */
export const SMALL_RESOURCES: ResolvedResources = { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } };

/** At most one pod of the component away at a time, for voluntary disruptions (node drains). */
export function podDisruptionBudget(scope: Construct, metadata: ReturnType<typeof hubMetadata>, component: 'controller' | 'edge'): void {
  new kplus.k8s.KubePodDisruptionBudget(scope, 'disruption-budget', {
    metadata,
    spec: { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1), selector: { matchLabels: podLabels(component) } },
  });
}
