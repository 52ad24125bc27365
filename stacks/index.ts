/**
 * The fleet program `pulumi up` runs (Pulumi.yaml's main): reads and checks the stack's
 * `kubegate:` configuration, makes sure every cluster in it answers before anything is planned,
 * and declares the fleet. A configuration problem ends the run with its message alone, no
 * stack trace, and nothing changes.
 */
import * as pulumi from '@pulumi/pulumi';
import { projectRoot } from '../control-plane/proto/project-root';
import { PolicyValidationError } from '../policies/src/policy-validation-error';
import { PolicyDirectoryError } from '../control-plane/policy-source/policy-directory-error';
import { declareFleet } from './fleet';
import { FleetConfigError, parseFleetConfig } from './fleet-config';
import { checkReachable } from './reachability';

const KEYS = ['images', 'hub', 'clusters', 'policies'] as const;

async function main(): Promise<Record<string, unknown>> {
  try {
    const unknown = Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith('kubegate:') && !KEYS.includes(k.slice('kubegate:'.length) as (typeof KEYS)[number]));
    if (unknown.length > 0) throw new FleetConfigError(unknown.map((k) => `${k}: unknown key (expected one of ${KEYS.map((x) => `kubegate:${x}`).join(', ')})`));
    const config = parseFleetConfig(Object.fromEntries(KEYS.map((k) => [k, pulumi.runtime.getConfig(`kubegate:${k}`)])), projectRoot());
    await checkReachable(config);
    const fleet = declareFleet(config);
    return {
      edgeUrl: fleet.hub.edgeUrl,
      apiUrl: fleet.hub.apiUrl,
      clusters: fleet.clusters.map((c) => c.cluster),
      ...(fleet.policies ? { policyRevision: fleet.policies.revision } : {}),
    };
  } catch (err) {
    if (err instanceof FleetConfigError || err instanceof PolicyValidationError || err instanceof PolicyDirectoryError) throw new pulumi.RunError(err.message);
    throw err;
  }
}

const result = main();
// Pulumi awaits the result; a handler attached now keeps Node from warning that a rejection
// (a configuration problem) was handled late.
result.catch(() => undefined);
export = result;
