/**
 * The sandbox image every pod of a real node starts with: kubegate's own static pause program
 * (toolchain/pause) as the only file of a one-layer OCI image, pushed to the local registry with
 * crane and named by digest as containerd's sandbox_image. The nodes pull nothing from the
 * internet, so the usual registry.k8s.io/pause is not an option.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NodeCommandError } from './errors';

const run = promisify(execFile);

export interface PauseImageProps {
  readonly crane: string;
  /** The toolchain's pause binary. */
  readonly pause: string;
  /** host:port of the registry the nodes pull from. */
  readonly registry: string;
  /** Scratch space for the layer. */
  readonly workDir: string;
}

/** The same registry gets the image once per process: the content, and so the digest, never changes. */
const pushed = new Map<string, Promise<string>>();

/** Pushes the image (once per registry and binary) and resolves with `<registry>/kubegate/pause@sha256:...`. */
export function pushPauseImage(props: PauseImageProps): Promise<string> {
  const key = `${props.registry} ${props.pause}`;
  let reference = pushed.get(key);
  if (!reference) {
    reference = build(props);
    pushed.set(key, reference);
    reference.catch(() => pushed.delete(key));
  }
  return reference;
}

async function build(props: PauseImageProps): Promise<string> {
  const root = path.join(props.workDir, 'pause-rootfs');
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  fs.copyFileSync(props.pause, path.join(root, 'pause'));
  fs.chmodSync(path.join(root, 'pause'), 0o755);
  const tar = `${root}.tar`;
  // Reproducible: sorted, root-owned, time zero; the same binary always gives the same digest.
  await command('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', root, '-cf', tar, '.']);
  const repo = `${props.registry}/kubegate/pause`;
  const crane = (args: string[]) => command(props.crane, ['--insecure', ...args]);
  await crane(['append', '--oci-empty-base', '-f', tar, '-t', `${repo}:build`]);
  await crane(['mutate', `${repo}:build`, '--set-platform', 'linux/amd64', '--entrypoint', '/pause', '--user', '65535:65535', '-l', 'org.opencontainers.image.title=kubegate-pause', '-t', `${repo}:build`]);
  const digest = (await crane(['digest', `${repo}:build`])).trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new NodeCommandError(`crane digest ${repo}:build`, 0, `no digest in ${JSON.stringify(digest)}`);
  return `${repo}@${digest}`;
}

async function command(binary: string, args: readonly string[]): Promise<string> {
  try {
    return (await run(binary, [...args], { maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: number | string };
    throw new NodeCommandError(`${path.basename(binary)} ${args[0] ?? ''}`, typeof e.code === 'number' ? e.code : null, e.stderr ?? e.message);
  }
}
