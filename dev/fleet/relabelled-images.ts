/**
 * Why: a fleet-wide upgrade needs a second set of images to move to. Building the images again
 * gives the same digests (the build is reproducible), so the second set is the same images with
 * one label added to their config (`kubegate.dev/rollout=<tag>`): every reference gets a new
 * digest, which makes every pod roll, while the layers, and so what runs, stay the same, and
 * the nodes pull no layer again.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { BuiltImage } from '../images/build-images';

const run = promisify(execFile);

/** The label the second set carries. */
export const ROLLOUT_LABEL = 'kubegate.dev/rollout';

export interface RelabelProps {
  readonly crane: string;
  readonly images: readonly BuiltImage[];
  /** Names the set: the label's value and the tag `rollout-<tag>` it is pushed as. */
  readonly tag: string;
}

/** The images with the label added, pushed next to the originals; in the shape of `images`. */
export async function relabelImages(props: RelabelProps): Promise<BuiltImage[]> {
  if (!/^[a-z0-9][a-z0-9.-]{0,62}$/.test(props.tag)) throw new Error(`rollout tag "${props.tag}": use lower-case letters, digits, dots and dashes (at most 63), starting with a letter or digit`);
  const out: BuiltImage[] = [];
  for (const image of props.images) {
    const at = image.reference.lastIndexOf('@');
    if (at < 0) throw new Error(`image ${image.name}: ${image.reference} is not a reference by digest`);
    const repo = image.reference.slice(0, at);
    const tagged = `${repo}:rollout-${props.tag}`;
    await crane(props.crane, ['mutate', image.reference, '--label', `${ROLLOUT_LABEL}=${props.tag}`, '--tag', tagged]);
    const digest = (await crane(props.crane, ['digest', tagged])).trim();
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`crane gave no digest for ${tagged}: ${JSON.stringify(digest)}`);
    if (digest === image.digest) throw new Error(`${tagged} has the digest of ${image.reference}: the label did not change the image`);
    // As build-images.ts does: the content is also tagged by its digest's prefix.
    const tag = `sha256-${digest.slice('sha256:'.length, 'sha256:'.length + 16)}`;
    await crane(props.crane, ['tag', `${repo}@${digest}`, tag]);
    out.push({ ...image, reference: `${repo}@${digest}`, digest, tag });
  }
  return out;
}

async function crane(binary: string, args: readonly string[]): Promise<string> {
  try {
    return (await run(binary, ['--insecure', ...args], { maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`crane ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}
