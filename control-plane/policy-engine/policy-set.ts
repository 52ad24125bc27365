/**
 * A policy set compiled for lookups: which AccessPolicies name a subject on a cluster (with
 * their validity now), which break-glass grants are in force, and which ClusterSettings govern
 * a cluster. The decision and every query of the engine start from these answers, so they live
 * here once rather than in each of them.
 */
import type { AccessPolicy, ClusterSettings, PolicyDocument } from '../../policies/src';
import { ClusterSettingsResolver } from './cluster-settings-resolver';
import { compileAccessPolicy, compileBreakGlassPolicy, type CompiledAccessPolicy, type CompiledBreakGlassPolicy } from './compiled-policy';
import type { ActiveGrant, ClusterInfo, EvaluationContext, Subject } from './engine-contract';
import { SubjectIndex } from './subject-index';
import { FOREVER, type ValidityState } from './validity-clock';

const ALWAYS: ValidityState = Object.freeze({ inForce: true, until: FOREVER });

/** An AccessPolicy naming the subject that covers the cluster, with its validity at `now`. */
export interface Applicable {
  readonly policy: CompiledAccessPolicy;
  readonly state: ValidityState;
}

/** A break-glass grant in force, with the policy it was granted under. */
export interface GrantInForce {
  readonly grant: ActiveGrant;
  readonly policy: CompiledBreakGlassPolicy;
}

export class PolicySet {
  private readonly accessPolicies: SubjectIndex<CompiledAccessPolicy>;
  private readonly breakGlass = new Map<string, CompiledBreakGlassPolicy>();
  readonly settings: ClusterSettingsResolver;

  constructor(documents: readonly PolicyDocument[]) {
    const access: { entry: CompiledAccessPolicy; subjects: AccessPolicy['spec']['subjects'] }[] = [];
    const settings: ClusterSettings[] = [];
    for (const doc of documents) {
      switch (doc.kind) {
        case 'AccessPolicy':
          access.push({ entry: compileAccessPolicy(doc, access.length), subjects: doc.spec.subjects });
          break;
        case 'ClusterSettings':
          settings.push(doc);
          break;
        case 'BreakGlassPolicy':
          this.breakGlass.set(doc.metadata.name, compileBreakGlassPolicy(doc));
          break;
      }
    }
    this.accessPolicies = new SubjectIndex(access);
    this.settings = new ClusterSettingsResolver(settings);
  }

  /** The BreakGlassPolicy of that name, if the set has one. */
  breakGlassPolicy(name: string): CompiledBreakGlassPolicy | undefined {
    return this.breakGlass.get(name);
  }

  /** The AccessPolicies naming the subject that cover the cluster, in document order. */
  applicable(subject: Subject, cluster: ClusterInfo, now: number): Applicable[] {
    const out: Applicable[] = [];
    for (const policy of this.accessPolicies.candidates(subject)) {
      if (!policy.clusters.covers(cluster)) continue;
      out.push({ policy, state: policy.validity ? policy.validity.state(now) : ALWAYS });
    }
    return out;
  }

  /**
   * The subject's grants in force on the cluster: for this user and cluster, not expired, under
   * a BreakGlassPolicy that still exists, still covers the cluster and still names the user
   * (a grant outlives neither its policy nor the user's place in it).
   */
  activeGrants(subject: Subject, cluster: ClusterInfo, ctx: EvaluationContext): GrantInForce[] {
    const out: GrantInForce[] = [];
    for (const grant of ctx.grants) {
      if (grant.user !== subject.user || grant.cluster !== cluster.name || !(ctx.now < grant.expiresAt)) continue;
      const policy = this.breakGlass.get(grant.policy);
      if (!policy || !policy.clusters.covers(cluster) || !policy.subjects.matches(subject)) continue;
      out.push({ grant, policy });
    }
    return out;
  }
}

/**
 * The disabled AccessPolicy in force that stays in force longest, or undefined: while any is in
 * force the subject is refused, so the refusal lasts until the last of them ends.
 */
export function strongestDisabled(applicable: readonly Applicable[]): Applicable | undefined {
  let found: Applicable | undefined;
  for (const a of applicable) {
    if (a.policy.accessMode !== 'disabled' || !a.state.inForce) continue;
    if (found === undefined || a.state.until > found.state.until) found = a;
  }
  return found;
}
