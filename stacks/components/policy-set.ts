/**
 * Why: `kubegate:index:PolicySet` keeps a hub's policy set equal to a directory of policy files,
 * read the way the controller's GitOps watcher reads one (every *.yaml, recursively, named by
 * relative path). The files are validated while the program runs, so an invalid file fails
 * `pulumi preview` with every error at its file:line:col and nothing changes; a valid change shows
 * as a diff of the files and is applied by `pulumi up`, which returns once the edge enforces it.
 */
import * as pulumi from '@pulumi/pulumi';
import { readPolicyDirectory } from '../../control-plane/policy-source/read-policy-directory';
import { loadPolicies } from '../../policies/src/load-policies';
import { PolicySetResource } from '../hub-api/hub-resources';
import type { HubApiAccess } from '../hub-api/hub-api';

export interface PolicySetArgs {
  /** The directory of policy files. */
  readonly directory: string;
  /** How the stack reaches the hub's admin API (Hub.access). */
  readonly hubAccess: pulumi.Input<HubApiAccess>;
}

/** The policy files in `directory`, checked together; throws PolicyValidationError or PolicyDirectoryError naming each problem. */
export function policyFilesOf(directory: string): Record<string, string> {
  const contents = readPolicyDirectory(directory);
  loadPolicies(contents.files);
  return Object.fromEntries(contents.files.map((f) => [f.fileName, f.text]));
}

export class PolicySet extends pulumi.ComponentResource {
  readonly resource: PolicySetResource;
  /** The hub's policy revision the set is applied as. */
  readonly revision: pulumi.Output<number>;

  constructor(name: string, args: PolicySetArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kubegate:index:PolicySet', name, {}, opts);
    this.resource = new PolicySetResource(`${name}-files`, { access: args.hubAccess, files: policyFilesOf(args.directory) }, { parent: this });
    this.revision = this.resource.revision;
    this.registerOutputs({ revision: this.revision });
  }
}
