/**
 * The real helm (toolchain) with its cache, config and data under a temporary directory, so
 * nothing reads or writes the user's home; KUBECONFIG when a cluster is given.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadToolchain } from '../../dev/toolchain/tools';
import { runCommand, type CommandResult } from '../support/run-command';

export interface Helm {
  run(args: readonly string[]): Promise<CommandResult>;
  readonly home: string;
  cleanup(): void;
}

export function helmCommand(kubeconfig?: string): Helm {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-helm-'));
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_DATA_HOME: path.join(home, 'data'),
    KUBECONFIG: kubeconfig ?? path.join(home, 'no-kubeconfig'),
  };
  const helm = loadToolchain().helm;
  return {
    home,
    run: (args) => runCommand(helm, args, { env, timeoutMs: 120_000 }),
    cleanup: () => fs.rmSync(home, { recursive: true, force: true }),
  };
}

/** The objects of a YAML stream, keyed by apiVersion/kind/namespace/name. */
export function objectsByIdentity(stream: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const doc of parseAllDocuments(stream)) {
    const o = doc.toJS() as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } | null;
    if (!o) continue;
    out[[o.apiVersion, o.kind, o.metadata.namespace ?? '', o.metadata.name].join('/')] = o;
  }
  return out;
}

/** The same values as `kubegate manifests` flags: --set a.b=v, lists as {x,y}, `fileProps` with --set-file. */
export function manifestsFlags(values: Record<string, unknown>, dir: string, fileProps: readonly string[] = []): string[] {
  const flags: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (fileProps.includes(key)) {
      const file = path.join(dir, `${key}.txt`);
      fs.writeFileSync(file, value as string);
      flags.push('--set-file', `${key}=${file}`);
    } else if (Array.isArray(value)) flags.push('--set', `${key}={${value.join(',')}}`);
    else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) if (v !== null) flags.push('--set', Array.isArray(v) ? `${key}.${k}={${v.join(',')}}` : `${key}.${k}=${String(v)}`);
    } else flags.push('--set', `${key}=${String(value)}`);
  }
  return flags;
}
