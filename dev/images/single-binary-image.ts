/**
 * A one-layer OCI image holding one static program and nothing else, pushed with crane to the
 * local registry the test nodes pull from: the pod sandboxes' pause program, the test clusters'
 * CoreDNS. Reproducible (sorted, root-owned, time zero), so the same binary always gives the
 * same digest, and each registry gets each image once per process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SingleBinaryImageProps {
  readonly crane: string;
  /** The static program; it becomes /<basename> and the entrypoint. */
  readonly binary: string;
  /** host:port of the registry. */
  readonly registry: string;
  /** The repository under the registry, e.g. kubegate/pause. */
  readonly repository: string;
  /** uid:gid the image runs as. */
  readonly user: string;
  /** Scratch space for the layer. */
  readonly workDir: string;
  /** @default none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A step of the build failed: `message` names the command and what it printed. */
export class SingleBinaryImageError extends Error {
  readonly code = 'ERR_SINGLE_BINARY_IMAGE';
  constructor(message: string) {
    super(message);
    this.name = 'SingleBinaryImageError';
  }
}

const pushed = new Map<string, Promise<string>>();

/** Resolves with `<registry>/<repository>@sha256:...`. */
export function pushSingleBinaryImage(props: SingleBinaryImageProps): Promise<string> {
  const key = `${props.registry} ${props.repository} ${props.binary}`;
  let reference = pushed.get(key);
  if (!reference) {
    reference = build(props);
    pushed.set(key, reference);
    reference.catch(() => pushed.delete(key));
  }
  return reference;
}

async function build(props: SingleBinaryImageProps): Promise<string> {
  const name = path.basename(props.binary);
  const root = path.join(props.workDir, `${name}-rootfs`);
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  fs.copyFileSync(props.binary, path.join(root, name));
  fs.chmodSync(path.join(root, name), 0o755);
  const tar = `${root}.tar`;
  await command('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', root, '-cf', tar, '.']);
  const repo = `${props.registry}/${props.repository}`;
  const crane = (args: string[]) => command(props.crane, ['--insecure', ...args]);
  await crane(['append', '--oci-empty-base', '-f', tar, '-t', `${repo}:build`]);
  const labels = Object.entries(props.labels ?? {}).flatMap(([k, v]) => ['-l', `${k}=${v}`]);
  await crane(['mutate', `${repo}:build`, '--set-platform', 'linux/amd64', '--entrypoint', `/${name}`, '--user', props.user, ...labels, '-t', `${repo}:build`]);
  const digest = (await crane(['digest', `${repo}:build`])).trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new SingleBinaryImageError(`crane digest ${repo}:build gave no digest: ${JSON.stringify(digest)}`);
  return `${repo}@${digest}`;
}

async function command(binary: string, args: readonly string[]): Promise<string> {
  try {
    return (await run(binary, [...args], { maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new SingleBinaryImageError(`${path.basename(binary)} ${args.slice(0, 2).join(' ')}: ${(e.stderr ?? e.message).trim()}`);
  }
}
