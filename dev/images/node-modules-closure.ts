/**
 * The installed npm packages a program needs at run time: the closure of some root
 * dependencies over each package's `dependencies` (and the optional ones present), resolved as
 * Node resolves them (a nested node_modules first, then each parent's). Images copy exactly
 * these from the checkout's node_modules, native builds included, instead of installing again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class MissingPackageError extends Error {
  readonly code = 'ERR_IMAGE_MISSING_PACKAGE';
  constructor(name: string, from: string) {
    super(`package "${name}" (needed by ${from}) is not installed: run the README's set-up first`);
    this.name = 'MissingPackageError';
  }
}

/** Directories of the packages (relative to `root`), sorted, each once. */
export function nodeModulesClosure(root: string, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const queue: Array<{ name: string; from: string }> = roots.map((name) => ({ name, from: root }));
  while (queue.length > 0) {
    const { name, from } = queue.shift()!;
    const dir = resolvePackage(root, name, from);
    if (!dir) throw new MissingPackageError(name, path.relative(root, from) || 'the project');
    const rel = path.relative(root, dir);
    if (seen.has(rel)) continue;
    seen.add(rel);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies ?? {})) queue.push({ name: dep, from: dir });
    // Optional ones are taken when present (a platform-specific build that was installed).
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) if (resolvePackage(root, dep, dir)) queue.push({ name: dep, from: dir });
  }
  return [...seen].sort();
}

function resolvePackage(root: string, name: string, from: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === root || path.dirname(dir) === dir) return undefined;
    dir = path.dirname(dir);
    // Climb out of a node_modules/<scope>/<pkg> to the directory holding that node_modules.
    while (path.basename(dir) === 'node_modules' || path.basename(dir).startsWith('@')) dir = path.dirname(dir);
  }
}
