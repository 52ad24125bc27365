/**
 * Reads the policy files of a watched directory as one consistent set, the way a GitOps
 * deployment lays them out:
 *
 * - every `*.yaml` / `*.yml` file, recursively, named by its path relative to the directory with
 *   `/` separators (so names are the same on every platform and match the repository), sorted;
 * - hidden entries (`.git`, editors' `.swp` files) are skipped;
 * - the directory itself may be a symlink (`current -> releases/abc`) that a deployment swaps
 *   atomically; it is resolved once, so a swap during the read cannot mix two releases;
 * - a Kubernetes ConfigMap volume (`..data -> ..2024_01_01_...`, plus one top-level symlink per
 *   key) is read through `..data`, again resolved once, for the same reason; the `..*` entries
 *   are never read as policy files themselves;
 * - symlinks are followed only while they stay inside the directory: a link to `/etc` or to a
 *   neighbour's checkout must not become policy. They are reported in `ignored`, not silently
 *   dropped, so an operator can tell why a file did not apply.
 *
 * Only regular files are read (a FIFO would block the control plane). Anything that cannot be
 * read makes the whole read fail with PolicyDirectoryError: a partial set must never be applied,
 * since a missing file would silently drop its policies.
 *
 * It also returns the directories it read, so that the watcher watches exactly those.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PolicyFile } from '../../policies/src';
import { PolicyDirectoryError } from './policy-directory-error';

/** Kubernetes' atomic writer points this link at the current timestamped copy of the volume. */
const CONFIG_MAP_DATA_LINK = '..data';
const POLICY_FILE = /\.ya?ml$/i;

export interface IgnoredPolicyEntry {
  /** Relative to the directory, `/` separators. */
  readonly fileName: string;
  readonly reason: string;
}

export interface PolicyDirectoryContents {
  /** Sorted by `fileName` (code-unit order, the same on every platform and locale). */
  readonly files: readonly PolicyFile[];
  /** Entries that look like policy but were not read (symlinks leading out of the directory). */
  readonly ignored: readonly IgnoredPolicyEntry[];
  /**
   * Real paths of every directory listed, the top one first: a change to the set shows up as
   * a change in one of them (for a ConfigMap, the swap of `..data` in the top one).
   */
  readonly directories: readonly string[];
}

/** @throws PolicyDirectoryError when the directory, or anything in it, cannot be read */
export function readPolicyDirectory(dir: string): PolicyDirectoryContents {
  const boundary = resolveDirectory(dir);
  const files: PolicyFile[] = [];
  const ignored: IgnoredPolicyEntry[] = [];
  const directories: string[] = [];
  walk({ boundary, files, ignored, directories }, boundary, '', [boundary]);
  files.sort((a, b) => compareNames(a.fileName, b.fileName));
  ignored.sort((a, b) => compareNames(a.fileName, b.fileName));
  return { files, ignored, directories: [...new Set(directories)] };
}

interface WalkContext {
  /** The real path of the directory: links may not lead outside it. */
  readonly boundary: string;
  readonly files: PolicyFile[];
  readonly ignored: IgnoredPolicyEntry[];
  readonly directories: string[];
}

function resolveDirectory(dir: string): string {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch (err) {
    throw new PolicyDirectoryError(
      isMissing(err) ? `policy directory ${dir} does not exist` : `cannot read policy directory ${dir}: ${errorMessage(err)}`,
    );
  }
  if (!statOrThrow(real, dir).isDirectory()) throw new PolicyDirectoryError(`policy directory ${dir} is not a directory`);
  return real;
}

/**
 * Reads one directory level. `realDir` is where the entries are read from (a ConfigMap's
 * `..data` target, when there is one); `prefix` is the level's name relative to the root.
 * `ancestors` are the real paths being walked, so that a link to a parent cannot loop.
 */
function walk(ctx: WalkContext, realDir: string, prefix: string, ancestors: readonly string[]): void {
  const readDir = configMapData(ctx, realDir, prefix) ?? realDir;
  ctx.directories.push(realDir, readDir);
  for (const entry of listDirectory(readDir, prefix)) {
    if (entry.name.startsWith('.')) continue;
    const fileName = prefix + entry.name;
    const full = path.join(readDir, entry.name);
    let target = full;
    let kind: 'dir' | 'file' | 'other';
    if (entry.isSymbolicLink()) {
      const resolved = resolveLink(ctx, full, fileName);
      if (!resolved) continue;
      target = resolved.target;
      kind = resolved.kind;
    } else {
      kind = entry.isDirectory() ? 'dir' : entry.isFile() ? 'file' : 'other';
    }
    if (kind === 'dir') {
      if (ancestors.includes(target)) {
        ctx.ignored.push({ fileName, reason: 'a symlink to a directory that contains it' });
        continue;
      }
      walk(ctx, target, fileName + '/', [...ancestors, target]);
    } else if (kind === 'file' && POLICY_FILE.test(entry.name)) {
      ctx.files.push({ fileName, text: readText(target, fileName) });
    }
  }
}

/** The real directory a ConfigMap volume's `..data` link points at, if this level is one. */
function configMapData(ctx: WalkContext, realDir: string, prefix: string): string | undefined {
  const link = path.join(realDir, CONFIG_MAP_DATA_LINK);
  let target: string;
  try {
    target = fs.realpathSync(link);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw new PolicyDirectoryError(`cannot read ${prefix}${CONFIG_MAP_DATA_LINK}: ${errorMessage(err)}`);
  }
  if (!isInside(ctx.boundary, target)) {
    throw new PolicyDirectoryError(`${prefix}${CONFIG_MAP_DATA_LINK} points outside the policy directory`);
  }
  if (!statOrThrow(target, prefix + CONFIG_MAP_DATA_LINK).isDirectory()) {
    throw new PolicyDirectoryError(`${prefix}${CONFIG_MAP_DATA_LINK} is not a directory`);
  }
  return target;
}

function resolveLink(ctx: WalkContext, full: string, fileName: string): { target: string; kind: 'dir' | 'file' | 'other' } | undefined {
  let target: string;
  try {
    target = fs.realpathSync(full);
  } catch (err) {
    // A dangling link names nothing; like a file that does not exist, it is not part of the set.
    if (isMissing(err)) return undefined;
    throw new PolicyDirectoryError(`cannot read ${fileName}: ${errorMessage(err)}`);
  }
  if (!isInside(ctx.boundary, target)) {
    if (POLICY_FILE.test(fileName) || safeIsDirectory(target)) {
      ctx.ignored.push({ fileName, reason: 'a symlink that leads outside the policy directory' });
    }
    return undefined;
  }
  const stat = statOrThrow(target, fileName);
  return { target, kind: stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : 'other' };
}

function listDirectory(dir: string, prefix: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareNames(a.name, b.name));
  } catch (err) {
    throw new PolicyDirectoryError(`cannot read ${prefix === '' ? 'the policy directory' : prefix}: ${errorMessage(err)}`);
  }
}

function readText(file: string, fileName: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyDirectoryError(`cannot read ${fileName}: ${errorMessage(err)}`);
  }
}

function statOrThrow(file: string, shownAs: string): fs.Stats {
  try {
    return fs.statSync(file);
  } catch (err) {
    throw new PolicyDirectoryError(`cannot read ${shownAs}: ${errorMessage(err)}`);
  }
}

function safeIsDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel));
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
