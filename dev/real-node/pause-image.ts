/**
 * The sandbox image every pod of a real node starts with: kubegate's own static pause program
 * (toolchain/pause) as the only file of a one-layer OCI image, pushed to the local registry with
 * crane and named by digest as containerd's sandbox_image. The nodes pull nothing from the
 * internet, so the usual registry.k8s.io/pause is not an option.
 */
import { pushSingleBinaryImage } from '../images/single-binary-image';

export interface PauseImageProps {
  readonly crane: string;
  /** The toolchain's pause binary. */
  readonly pause: string;
  /** host:port of the registry the nodes pull from. */
  readonly registry: string;
  /** Scratch space for the layer. */
  readonly workDir: string;
}

/** Pushes the image (once per registry and binary) and resolves with `<registry>/kubegate/pause@sha256:...`. */
export function pushPauseImage(props: PauseImageProps): Promise<string> {
  return pushSingleBinaryImage({
    crane: props.crane,
    binary: props.pause,
    registry: props.registry,
    repository: 'kubegate/pause',
    user: '65535:65535',
    workDir: props.workDir,
    labels: { 'org.opencontainers.image.title': 'kubegate-pause' },
  });
}
