/**
 * Why: the fleet lab's stack applies a directory of policy files (kubegate:policies), as a
 * platform team keeps its policies in Git: the administrators' default policy and one that
 * lets the teams read and create ConfigMaps in `default` of every fleet cluster (at the edge;
 * in the cluster they are bound to `view`, plus, when asked for, cluster-admin in `default`
 * alone so that their creates are also allowed there). Tests rewrite the team policy to see a
 * change roll out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { defaultPolicyText } from '../../control-plane/server/default-policies';

/** The label every lab member carries, which the team policy selects clusters by. */
export const FLEET_LABELS = { env: 'fleet' } as const;

export interface TeamPolicyOptions {
  /**
   * Also bind cluster-admin in `default` (an allowed ClusterRole of every member), so that what
   * the edge lets through (creating ConfigMaps there) the member's RBAC allows too. @default false
   */
  readonly writeInDefault?: boolean;
}

/** What the teams may do in every fleet cluster. */
export function teamPolicy(groups: readonly string[], options: TeamPolicyOptions = {}): string {
  const clusterRoles = [{ name: 'view' }, ...(options.writeInDefault ? [{ name: 'cluster-admin', namespaces: ['default'] }] : [])];
  return stringify({
    apiVersion: 'kubegate.dev/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { name: 'teams' },
    spec: { subjects: { groups }, clusters: { selector: { matchLabels: FLEET_LABELS } }, clusterRoles, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create'], namespaces: ['default'] }] },
  });
}

/** Writes `dir` (created) with admins.yaml and team.yaml. */
export function writePolicyDirectory(dir: string, teamGroups: readonly string[], options: TeamPolicyOptions = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'admins.yaml'), defaultPolicyText());
  fs.writeFileSync(path.join(dir, 'team.yaml'), teamPolicy(teamGroups, options));
}
