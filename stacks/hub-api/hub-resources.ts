/**
 * Why: the typed resources over the dynamic providers, so components name their inputs and
 * outputs instead of passing bags: ClusterRegistration (a member cluster registered with its
 * hub, with its join token and the hub's CA) and PolicySet (the hub's applied policy files).
 */
import * as pulumi from '@pulumi/pulumi';
import { clusterRegistrationProvider } from './cluster-registration-provider';
import { policySetProvider } from './policy-set-provider';
import type { HubApiAccess } from './hub-api';

export interface ClusterRegistrationArgs {
  readonly access: pulumi.Input<HubApiAccess>;
  readonly cluster: string;
  readonly labels: Readonly<Record<string, string>>;
}

export class ClusterRegistration extends pulumi.dynamic.Resource {
  declare readonly cluster: pulumi.Output<string>;
  declare readonly labels: pulumi.Output<Record<string, string>>;
  /** Secret. */
  declare readonly joinToken: pulumi.Output<string>;
  declare readonly joinTokenExpiresAt: pulumi.Output<string>;
  declare readonly hubCaPem: pulumi.Output<string>;

  constructor(name: string, args: ClusterRegistrationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      clusterRegistrationProvider,
      name,
      { ...args, joinToken: undefined, joinTokenExpiresAt: undefined, hubCaPem: undefined },
      { ...opts, additionalSecretOutputs: ['joinToken', 'access'] },
      'kubegate',
      'ClusterRegistration',
    );
  }
}

export interface PolicySetResourceArgs {
  readonly access: pulumi.Input<HubApiAccess>;
  /** File name to YAML text. */
  readonly files: Readonly<Record<string, string>>;
}

export class PolicySetResource extends pulumi.dynamic.Resource {
  declare readonly files: pulumi.Output<Record<string, string>>;
  declare readonly revision: pulumi.Output<number>;

  constructor(name: string, args: PolicySetResourceArgs, opts?: pulumi.CustomResourceOptions) {
    super(policySetProvider, name, { ...args, revision: undefined }, { ...opts, additionalSecretOutputs: ['access'] }, 'kubegate', 'PolicySet');
  }
}
