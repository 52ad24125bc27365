/**
 * An SBOM-like list of what an image holds: the programs and their versions, every npm package
 * with its version, and every file taken from the host with the Debian package (and version)
 * that installed it. Written into the image (/usr/share/doc/kubegate/contents.json) and beside
 * the build's results.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Rootfs } from './rootfs';

export interface ImageContents {
  readonly image: string;
  readonly npmPackages: ReadonlyArray<{ readonly name: string; readonly version: string }>;
  readonly hostFiles: ReadonlyArray<{ readonly path: string; readonly debianPackage?: string; readonly version?: string }>;
  readonly programs: Readonly<Record<string, string>>;
}

export const CONTENTS_PATH = '/usr/share/doc/kubegate/contents.json';

export function imageContents(image: string, layers: readonly Rootfs[], programs: Record<string, string>): ImageContents {
  const npmPackages: Array<{ name: string; version: string }> = [];
  const hostFiles: Array<{ path: string; debianPackage?: string; version?: string }> = [];
  for (const layer of layers) {
    for (const manifest of packageManifests(layer.dir)) {
      const { name, version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (name && version) npmPackages.push({ name, version });
    }
    for (const [imagePath, hostPath] of layer.hostFiles) hostFiles.push({ path: imagePath, ...debianPackageOf(hostPath) });
  }
  const byName = (a: { name: string; version: string }, b: { name: string; version: string }) => (a.name === b.name ? (a.version < b.version ? -1 : 1) : a.name < b.name ? -1 : 1);
  const unique = [...new Map(npmPackages.map((p) => [`${p.name}@${p.version}`, p])).values()].sort(byName);
  return { image, programs, npmPackages: unique, hostFiles: [...new Map(hostFiles.map((f) => [f.path, f])).values()].sort((a, b) => (a.path < b.path ? -1 : 1)) };
}

/** Every node_modules/<pkg>/package.json (scoped ones too) under `dir`. */
function packageManifests(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const full = path.join(d, entry.name);
      if (path.basename(d) === 'node_modules' || (path.basename(path.dirname(d)) === 'node_modules' && path.basename(d).startsWith('@'))) {
        if (entry.name.startsWith('@')) walk(full);
        else if (fs.existsSync(path.join(full, 'package.json'))) {
          out.push(path.join(full, 'package.json'));
          walk(full);
        }
      } else walk(full);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

const dpkgCache = new Map<string, { debianPackage?: string; version?: string }>();

/** The Debian package that installed a host file, if one did (dpkg -S), and its version. */
function debianPackageOf(hostPath: string): { debianPackage?: string; version?: string } {
  const cached = dpkgCache.get(hostPath);
  if (cached) return cached;
  let found: { debianPackage?: string; version?: string } = {};
  for (const candidate of [hostPath, hostPath.replace(/^\/usr\/lib\//, '/lib/'), hostPath.replace(/^\/lib\//, '/usr/lib/')]) {
    try {
      const owner = execFileSync('dpkg', ['-S', candidate], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0]!.trim();
      const version = execFileSync('dpkg-query', ['-W', '-f', '${Version}', owner], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      found = { debianPackage: owner, version };
      break;
    } catch {
      // Not from a Debian package under this name (the toolchain's Envoy, a program built here).
    }
  }
  dpkgCache.set(hostPath, found);
  return found;
}
