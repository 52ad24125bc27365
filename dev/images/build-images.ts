/**
 * Builds kubegate's OCI images without a Docker daemon and pushes them to a registry: each
 * layer is a directory assembled from nothing (rootfs.ts) and written as a reproducible tar
 * (sorted, owned by root, time zero), crane appends the layers to an empty OCI base and sets
 * the config (entrypoint, the non-root user, labels), and each image is tagged by its content
 * digest. The result names every image by digest, with its contents list.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from '../../control-plane/log/logger';
import { Rootfs, IMAGE_USER } from './rootfs';
import { IMAGE_SPECS, type BuildContext, type ImageSpec } from './image-specs';
import { CONTENTS_PATH, imageContents, type ImageContents } from './image-contents';

const run = promisify(execFile);

export interface BuildImagesProps extends BuildContext {
  readonly crane: string;
  /** host:port of the registry to push to. */
  readonly registry: string;
  /** Scratch space for layers; removed by the caller. */
  readonly workDir: string;
  readonly logger: Logger;
  /** @default every image */
  readonly only?: ReadonlyArray<ImageSpec['name']>;
}

export interface BuiltImage {
  readonly name: ImageSpec['name'];
  /** registry/kubegate/<name>@sha256:... */
  readonly reference: string;
  readonly digest: string;
  /** The tag naming the same content: sha256-<first 16 hex digits>. */
  readonly tag: string;
  readonly layers: number;
  readonly contents: ImageContents;
}

export class ImageBuildError extends Error {
  readonly code = 'ERR_IMAGE_BUILD';
  constructor(message: string) {
    super(message);
    this.name = 'ImageBuildError';
  }
}

export async function buildImages(props: BuildImagesProps): Promise<BuiltImage[]> {
  const programs = { node: (await run(props.node, ['--version'])).stdout.trim(), envoy: await envoyVersion(props.envoy) };
  // A layer function used by several images (the Node.js runtime, the npm packages) is built once.
  const built = new Map<ImageSpec['layers'][number], { rootfs: Rootfs; tar: string }>();
  const results: BuiltImage[] = [];
  for (const spec of IMAGE_SPECS.filter((s) => !props.only || props.only.includes(s.name))) {
    const started = Date.now();
    const layers: Array<{ rootfs: Rootfs; tar: string }> = [];
    for (const [i, fill] of spec.layers.entries()) {
      let layer = built.get(fill);
      if (!layer) {
        const rootfs = new Rootfs(path.join(props.workDir, `${spec.name}-layer-${i}`));
        fill(rootfs, props);
        layer = { rootfs, tar: await tarLayer(rootfs.dir) };
        built.set(fill, layer);
      }
      layers.push(layer);
    }
    const contents = imageContents(spec.name, layers.map((l) => l.rootfs), spec.name === 'envoy' ? { envoy: programs.envoy } : { node: programs.node });
    const doc = new Rootfs(path.join(props.workDir, `${spec.name}-contents`)).write(CONTENTS_PATH, `${JSON.stringify(contents, null, 2)}\n`);
    const tars = [...layers.map((l) => l.tar), await tarLayer(doc.dir)];
    const repo = `${props.registry}/kubegate/${spec.name}`;
    await crane(props, ['append', '--oci-empty-base', ...tars.flatMap((t) => ['-f', t]), '-t', `${repo}:build`]);
    await crane(props, [
      'mutate', `${repo}:build`,
      '--set-platform', 'linux/amd64',
      '--entrypoint', spec.entrypoint.join(','),
      '--user', `${IMAGE_USER.uid}:${IMAGE_USER.gid}`,
      '--workdir', '/',
      '-l', `org.opencontainers.image.title=kubegate-${spec.name}`,
      '-l', `org.opencontainers.image.description=${spec.description}`,
      '-t', `${repo}:build`,
    ]);
    const digest = (await crane(props, ['digest', `${repo}:build`])).trim();
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new ImageBuildError(`crane gave no digest for ${repo}:build: ${JSON.stringify(digest)}`);
    const tag = `sha256-${digest.slice('sha256:'.length, 'sha256:'.length + 16)}`;
    await crane(props, ['tag', `${repo}@${digest}`, tag]);
    results.push({ name: spec.name, reference: `${repo}@${digest}`, digest, tag, layers: tars.length, contents });
    props.logger.info('image built', { image: spec.name, reference: `${repo}@${digest}`, layers: tars.length, seconds: Math.round((Date.now() - started) / 100) / 10 });
  }
  return results;
}

/** A reproducible tar of a directory: sorted names, root-owned, modification time zero. */
async function tarLayer(dir: string): Promise<string> {
  const tar = `${dir}.tar`;
  await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', dir, '-cf', tar, '.'], { maxBuffer: 1 << 20 });
  return tar;
}

async function crane(props: BuildImagesProps, args: readonly string[]): Promise<string> {
  try {
    return (await run(props.crane, ['--insecure', ...args], { maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new ImageBuildError(`crane ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

async function envoyVersion(envoy: string): Promise<string> {
  const out = (await run(envoy, ['--version'])).stdout;
  return /\/(\d+\.\d+\.\d+)\//.exec(out)?.[1] ?? out.trim();
}

/** Writes the build's results (references, digests, contents) where a deployment can read them. */
export function writeBuildResults(file: string, images: readonly BuiltImage[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ images }, null, 2)}\n`);
}
