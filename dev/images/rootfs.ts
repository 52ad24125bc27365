/**
 * Assembles an image's root filesystem in a directory, from nothing: a program and the shared
 * libraries it loads (as the dynamic loader resolves them on this machine), files of the
 * checkout, and the few files every image needs (a non-root user, an empty /tmp). No shell, no
 * package manager: only what the program runs with.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

/** The user every kubegate image runs as (no login, no home). */
export const IMAGE_USER = { name: 'kubegate', uid: 65532, gid: 65532 } as const;

export class RootfsError extends Error {
  readonly code = 'ERR_IMAGE_ROOTFS';
  constructor(message: string) {
    super(message);
    this.name = 'RootfsError';
  }
}

export class Rootfs {
  /** Files copied from the host, by their path in the image (the SBOM lists them). */
  readonly hostFiles = new Map<string, string>();

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  /** /etc/passwd and /etc/group with the image user, and a world-writable sticky /tmp. */
  base(): this {
    const { name, uid, gid } = IMAGE_USER;
    this.write('/etc/passwd', `root:x:0:0:root:/nonexistent:/nonexistent\n${name}:x:${uid}:${gid}:kubegate:/nonexistent:/nonexistent\n`);
    this.write('/etc/group', `root:x:0:\n${name}:x:${gid}:\n`);
    fs.mkdirSync(path.join(this.dir, 'tmp'), { recursive: true, mode: 0o1777 });
    fs.chmodSync(path.join(this.dir, 'tmp'), 0o1777);
    return this;
  }

  write(imagePath: string, text: string, mode = 0o644): this {
    const target = this.at(imagePath);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text, { mode });
    return this;
  }

  /** A host file at `imagePath` (its mode kept). */
  copyFile(hostPath: string, imagePath: string): this {
    const target = this.at(imagePath);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(hostPath, target);
    fs.chmodSync(target, fs.statSync(hostPath).mode & 0o777);
    this.hostFiles.set(imagePath, hostPath);
    return this;
  }

  /** A host directory's tree at `imagePath`, symlinks kept as symlinks. */
  copyTree(hostDir: string, imagePath: string, filter: (relative: string) => boolean = () => true): this {
    if (!fs.existsSync(hostDir)) throw new RootfsError(`${hostDir} does not exist: build the project first (npx tsc -p tsconfig.json)`);
    fs.cpSync(hostDir, this.at(imagePath), { recursive: true, verbatimSymlinks: true, filter: (src) => filter(path.relative(hostDir, src)) });
    return this;
  }

  /**
   * An executable and every shared library it loads, at the paths the loader found them, so
   * the image runs it exactly as this machine does.
   */
  copyProgram(hostPath: string, imagePath: string): this {
    this.copyFile(hostPath, imagePath);
    for (const lib of sharedLibraries(hostPath)) this.copyFile(fs.realpathSync(lib), lib);
    return this;
  }

  private at(imagePath: string): string {
    if (!imagePath.startsWith('/')) throw new RootfsError(`image paths are absolute, got ${JSON.stringify(imagePath)}`);
    return path.join(this.dir, imagePath);
  }
}

/** The absolute paths of the shared objects `program` loads, the loader itself included (from ldd). */
export function sharedLibraries(program: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', [program], { encoding: 'utf8' });
  } catch (err) {
    // ldd fails for a static program ("not a dynamic executable"): it needs no library.
    if (/not a dynamic executable/.test(String((err as { stdout?: string; stderr?: string }).stdout ?? '') + String((err as { stderr?: string }).stderr ?? ''))) return [];
    throw new RootfsError(`cannot list the libraries of ${program}: ${(err as Error).message}`);
  }
  const libs = new Set<string>();
  for (const line of out.split('\n')) {
    const resolved = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (resolved) libs.add(resolved[1]!);
    else if (/=> not found/.test(line)) throw new RootfsError(`${program} needs a library this machine lacks: ${line.trim()}`);
  }
  return [...libs].sort();
}
