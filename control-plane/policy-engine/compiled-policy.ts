/**
 * The compiled form of the two policy kinds that grant access (AccessPolicy, BreakGlassPolicy):
 * matchers and rule sets built once per policy set, so that deciding a request never parses a
 * document again. Kept apart from the engine so the set, the decision and the queries share it.
 */
import type { AccessMode, AccessPolicy, BreakGlassPolicy, ClusterRoleGrant, PolicyRule } from '../../policies/src';
import { compileClusterScope, type ClusterMatcher } from './cluster-matcher';
import { RuleSet } from './rule-matcher';
import { compileSubjects, type SubjectMatcher } from './subject-index';
import { ValiditySchedule } from './validity-clock';

export interface CompiledAccessPolicy {
  readonly index: number;
  readonly name: string;
  /** As written; undefined takes the cluster's defaultAccessMode. */
  readonly accessMode: AccessMode | undefined;
  readonly clusters: ClusterMatcher;
  /** undefined: clusterRoles only, the edge admits and the cluster's RBAC decides. */
  readonly rules: RuleSet | undefined;
  /** The rules as written, for kubectlRules. */
  readonly ruleList: readonly PolicyRule[];
  readonly clusterRoles: readonly ClusterRoleGrant[];
  readonly session: { readonly withinMs: number; readonly text: string } | undefined;
  readonly validity: ValiditySchedule | undefined;
}

export interface CompiledBreakGlassPolicy {
  readonly name: string;
  readonly document: BreakGlassPolicy;
  readonly subjects: SubjectMatcher;
  readonly approvers: SubjectMatcher | undefined;
  readonly clusters: ClusterMatcher;
  readonly rules: RuleSet | undefined;
  readonly ruleList: readonly PolicyRule[];
  readonly clusterRoles: readonly ClusterRoleGrant[];
}

export function compileAccessPolicy(doc: AccessPolicy, index: number): CompiledAccessPolicy {
  const spec = doc.spec;
  return {
    index,
    name: doc.metadata.name,
    accessMode: spec.accessMode,
    clusters: compileClusterScope(spec.clusters),
    // A disabled policy has neither rules nor clusterRoles; it must not "admit" anything.
    rules: spec.rules ? new RuleSet(spec.rules) : spec.accessMode === 'disabled' ? new RuleSet([]) : undefined,
    ruleList: spec.rules ?? [],
    clusterRoles: spec.clusterRoles ?? [],
    session: spec.requireActiveSession ? { withinMs: spec.requireActiveSession.within.ms, text: spec.requireActiveSession.within.text } : undefined,
    validity: spec.validity ? new ValiditySchedule(spec.validity) : undefined,
  };
}

export function compileBreakGlassPolicy(doc: BreakGlassPolicy): CompiledBreakGlassPolicy {
  const spec = doc.spec;
  return {
    name: doc.metadata.name,
    document: doc,
    subjects: compileSubjects(spec.subjects),
    approvers: spec.approval.required ? compileSubjects(spec.approval.approvers) : undefined,
    clusters: compileClusterScope(spec.clusters),
    rules: spec.rules ? new RuleSet(spec.rules) : undefined,
    ruleList: spec.rules ?? [],
    clusterRoles: spec.clusterRoles ?? [],
  };
}
