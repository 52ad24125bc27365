/**
 * Why: whichever side of the fleet-rollout benchmark installed first would otherwise also pay
 * for pulling the images onto every node, and the other would find them there. Before anything
 * is timed, one throwaway Pod per cluster, with a container per image of both sets (the lab's
 * and the upgrade's), makes each node pull them all; what the containers then do does not
 * matter (they exit without their configuration), so the Pod is deleted once every image is in.
 */
import type { FleetLab } from '../dev/fleet/fleet-lab';
import type { BuiltImage } from '../dev/images/build-images';
import { pollUntil } from './fleet-serving';

const POD = 'kubegate-bench-image-warmup';

interface ContainerStatus {
  imageID?: string;
  state?: { waiting?: { reason?: string }; running?: object; terminated?: object };
}
interface PodStatus {
  status?: { containerStatuses?: ContainerStatus[] };
}

/** Waiting reasons that mean the image is not on the node yet. */
const PULLING = new Set(['ContainerCreating', 'PodInitializing', 'ErrImagePull', 'ImagePullBackOff']);

/** The image is on the node once a container was made from it, whatever became of the container. */
const pulled = (s: ContainerStatus) => Boolean(s.imageID) || s.state?.running !== undefined || s.state?.terminated !== undefined || (s.state?.waiting !== undefined && !PULLING.has(s.state.waiting.reason ?? 'ContainerCreating'));

function podManifest(images: readonly BuiltImage[]): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: POD, namespace: 'default', labels: { 'kubegate.dev/bench': 'image-warmup' } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      containers: images.map((image, i) => ({ name: `${image.name}-${i}`, image: image.reference, imagePullPolicy: 'IfNotPresent' })),
    },
  });
}

/** Has the node of every cluster (the hub and each member in `memberNames`) pull `images`; resolves with the seconds it took per cluster. */
export async function warmImages(lab: FleetLab, memberNames: readonly string[], images: readonly BuiltImage[]): Promise<Record<string, number>> {
  const clusters = [{ name: 'hub', kubeconfig: lab.hub.adminKubeconfigPath }, ...memberNames.map((n) => ({ name: n, kubeconfig: lab.member(n).kubeconfigFile! }))];
  const seconds: Record<string, number> = {};
  await Promise.all(
    clusters.map(async (c) => {
      const started = Date.now();
      const applied = await lab.kubectlVia(c.kubeconfig, ['apply', '-f', '-'], { input: podManifest(images) });
      if (applied.code !== 0) throw new Error(`${c.name}: the image warm-up Pod was refused: ${applied.stderr.trim()}`);
      try {
        await pollUntil(`${c.name}: every image pulled`, async () => {
          const r = await lab.kubectlVia(c.kubeconfig, ['-n', 'default', 'get', 'pod', POD, '-o', 'json']);
          if (r.code !== 0) throw new Error(r.stderr.trim());
          const statuses = (JSON.parse(r.stdout) as PodStatus).status?.containerStatuses ?? [];
          return statuses.length === images.length && statuses.every(pulled) ? true : undefined;
        }, 300_000);
      } finally {
        await lab.kubectlVia(c.kubeconfig, ['-n', 'default', 'delete', 'pod', POD, '--ignore-not-found', '--wait=false']);
      }
      seconds[c.name] = Math.round((Date.now() - started) / 100) / 10;
    }),
  );
  return seconds;
}
