/**
 * Why: Pulumi runs here offline, from the toolchain's builds. The CLI finds its Node.js language
 * host and the dynamic-provider script beside itself, but the Kubernetes provider only in a
 * PULUMI_HOME it was installed into, and the CLI must be told not to look for updates or
 * download plugins, and where its state lives. This makes such a PULUMI_HOME (installing the
 * provider from the toolchain once) and the environment for the CLI and the Automation API:
 * what `kubegate dev pulumi-env` prints for a shell and what the tests hand the CLI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Toolchain } from '../toolchain/tools';

export interface PulumiEnvironmentProps {
  readonly toolchain: Toolchain;
  /** The PULUMI_HOME to use (created; plugins go here). */
  readonly home: string;
  /** Where a file:// backend keeps the stacks' state (created). */
  readonly stateDir: string;
}

/** The Kubernetes provider could not be installed into PULUMI_HOME. */
export class PulumiPluginInstallError extends Error {
  readonly code = 'ERR_PULUMI_PLUGIN_INSTALL';
  constructor(message: string) {
    super(message);
    this.name = 'PulumiPluginInstallError';
  }
}

/** The variables the CLI needs, PATH first so that `pulumi` and its plugins are the toolchain's. */
export function pulumiEnvironment(props: PulumiEnvironmentProps, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    PATH: `${path.dirname(props.toolchain.pulumi)}${path.delimiter}${base.PATH ?? ''}`,
    PULUMI_HOME: props.home,
    PULUMI_BACKEND_URL: `file://${props.stateDir}`,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: 'true',
  };
}

/**
 * Creates PULUMI_HOME and the state directory, and installs the toolchain's Kubernetes provider
 * into PULUMI_HOME unless that version is there already. Returns the environment to run with.
 */
export function preparePulumiHome(props: PulumiEnvironmentProps): Record<string, string> {
  const env = pulumiEnvironment(props);
  fs.mkdirSync(props.home, { recursive: true });
  fs.mkdirSync(props.stateDir, { recursive: true });
  const version = props.toolchain.versions.pulumiKubernetes;
  if (!version) throw new PulumiPluginInstallError('the toolchain names no Kubernetes provider version: run toolchain/install.sh');
  const installed = path.join(props.home, 'plugins', `resource-kubernetes-v${version}`);
  if (!fs.existsSync(installed)) {
    const r = spawnSync(props.toolchain.pulumi, ['plugin', 'install', 'resource', 'kubernetes', version, '--file', props.toolchain.pulumiKubernetes], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new PulumiPluginInstallError(`pulumi plugin install resource kubernetes ${version} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').trim()}`);
  }
  return env;
}

/** The environment as shell `export` lines, for `eval "$(kubegate dev pulumi-env)"`. */
export function exportLines(env: Record<string, string>): string {
  const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  return Object.entries(env)
    .map(([k, v]) => `export ${k}=${quote(v)}`)
    .join('\n');
}
