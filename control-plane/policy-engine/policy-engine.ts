/**
 * The policy engine: decides requests from a set of policy documents exactly as
 * policies/README.md, "How documents combine", describes. Built once per policy set; pure
 * afterwards (no I/O, clock or randomness: the time comes in the EvaluationContext), so every
 * rule is testable with an injected time.
 *
 * The evaluation order, and why, is in decide-request.ts; this class adds the second check a
 * pod session needs and answers the queries that are not decisions (cluster access, the rules
 * the edge applies, break-glass eligibility and approval).
 *
 * Every decision carries validUntil, the earliest instant at which it could change with the
 * same documents and store state; caches and open-stream re-checks depend on it never being late.
 */
import type { ClusterRoleGrant, PolicyDocument, PolicyRule } from '../../policies/src';
import { decideRequest } from './decide-request';
import { describeDocument } from './describe-request';
import type {
  AccessRequest,
  BreakGlassEligibility,
  ClusterAccess,
  ClusterInfo,
  EngineDecision,
  EvaluationContext,
  KubectlRules,
  Subject,
} from './engine-contract';
import { mergeClusterRoles } from './merge-cluster-roles';
import { PolicySet, strongestDisabled } from './policy-set';
import { createCheckVerb, requestTarget, type RequestTarget } from './request-target';
import { FOREVER } from './validity-clock';

export class PolicyEngine {
  private readonly policies: PolicySet;

  constructor(documents: readonly PolicyDocument[]) {
    this.policies = new PolicySet(documents);
  }

  evaluate(request: AccessRequest, ctx: EvaluationContext): EngineDecision {
    const target = requestTarget(request.attributes);
    const decision = decideRequest(this.policies, request, target, ctx);
    const extraVerb = createCheckVerb(target);
    if (!decision.allowed || extraVerb === undefined) return decision;

    // A pod session opened with a GET (WebSocket) also needs create, as kube-apiserver checks.
    const createTarget: RequestTarget = { ...target, verb: extraVerb };
    const create = decideRequest(this.policies, request, createTarget, ctx);
    const validUntil = Math.min(decision.validUntil, create.validUntil);
    if (!create.allowed) {
      return {
        ...create,
        message: `${create.message} (opening a pod session needs create on ${target.combinedResource}, whatever the HTTP method)`,
        reason: `${target.verb} was allowed (${decision.reason}) but a pod session also needs create: ${create.reason}`,
        validUntil,
      };
    }
    return { ...decision, reason: `${decision.reason}; and ${create.reason}`, validUntil };
  }

  /**
   * How long a per-user ServiceAccount in the cluster may go without a request before its
   * agent removes it: the governing ClusterSettings' serviceAccountIdleTimeout, else 8 h.
   * Depends on the documents and the cluster only (ClusterSettings have no validity).
   */
  serviceAccountIdleTimeoutMs(cluster: ClusterInfo): number {
    return this.policies.settings.resolve(cluster).serviceAccountIdleTimeoutMs;
  }

  /** How the subject may reach the cluster now, for kubeconfig contexts and the console. */
  clusterAccess(subject: Subject, cluster: ClusterInfo, ctx: EvaluationContext): ClusterAccess {
    const now = ctx.now;
    const settings = this.policies.settings.resolve(cluster);
    const applicable = this.policies.applicable(subject, cluster, now);
    const none = (validUntil: number): ClusterAccess => ({
      cluster: cluster.name,
      mode: 'none',
      requiresActiveSession: false,
      clusterRoles: [],
      policies: [],
      validUntil,
    });

    const disabled = strongestDisabled(applicable);
    if (disabled) return none(disabled.state.until);

    let validUntil = FOREVER;
    for (const a of applicable) validUntil = Math.min(validUntil, a.state.until);
    let kubectlFree = false;
    let kubectlWithSession = false;
    let consoleOnly = false;
    const policies: string[] = [];
    const roles: ClusterRoleGrant[] = [];
    for (const { policy, state } of applicable) {
      if (!state.inForce) continue;
      const mode = policy.accessMode ?? settings.defaultAccessMode;
      if (mode === 'disabled') continue;
      if (mode === 'console-only') consoleOnly = true;
      else if (policy.session) kubectlWithSession = true;
      else kubectlFree = true;
      policies.push(policy.name);
      roles.push(...policy.clusterRoles);
    }
    for (const { grant, policy } of this.policies.activeGrants(subject, cluster, ctx)) {
      validUntil = Math.min(validUntil, grant.expiresAt);
      kubectlFree = true;
      if (!policies.includes(policy.name)) policies.push(policy.name);
      roles.push(...policy.clusterRoles);
    }
    if (!kubectlFree && !kubectlWithSession && !consoleOnly) return none(validUntil);
    const kubectl = (kubectlFree || kubectlWithSession) && settings.killSwitch === undefined;
    return {
      cluster: cluster.name,
      mode: kubectl ? 'kubectl' : 'console-only',
      requiresActiveSession: kubectl && !kubectlFree,
      clusterRoles: mergeClusterRoles(roles),
      policies,
      validUntil,
    };
  }

  /**
   * The rules the edge applies to the subject's kubectl requests on the cluster now: those of
   * every document that decide() would let allow a kubectl request at ctx.now (same kill
   * switch, disabled policies, validity, access modes, session and grants), unioned.
   */
  kubectlRules(subject: Subject, cluster: ClusterInfo, ctx: EvaluationContext): KubectlRules {
    const now = ctx.now;
    const settings = this.policies.settings.resolve(cluster);
    const applicable = this.policies.applicable(subject, cluster, now);
    let validUntil = FOREVER;
    for (const a of applicable) validUntil = Math.min(validUntil, a.state.until);
    const nothing = (until: number): KubectlRules => ({ unrestricted: false, rules: [], validUntil: until });
    if (settings.killSwitch !== undefined) return nothing(FOREVER);
    const disabled = strongestDisabled(applicable);
    if (disabled) return nothing(disabled.state.until);
    let unrestricted = false;
    const rules: PolicyRule[] = [];
    for (const { policy, state } of applicable) {
      if (!state.inForce || policy.accessMode === 'disabled') continue;
      const mode = policy.accessMode ?? settings.defaultAccessMode;
      if (mode !== 'kubectl') continue;
      if (policy.session) {
        const last = ctx.lastConsoleActivity;
        if (last === undefined || now - last > policy.session.withinMs) continue;
        validUntil = Math.min(validUntil, last + policy.session.withinMs + 1);
      }
      if (policy.rules === undefined) unrestricted = true;
      else rules.push(...policy.ruleList);
    }
    for (const { grant, policy } of this.policies.activeGrants(subject, cluster, ctx)) {
      validUntil = Math.min(validUntil, grant.expiresAt);
      if (policy.rules === undefined) unrestricted = true;
      else rules.push(...policy.ruleList);
    }
    return { unrestricted, rules, validUntil };
  }

  /** Whether the subject may request break-glass under the named policy on the cluster. */
  breakGlassEligibility(subject: Subject, policyName: string, cluster: ClusterInfo, ctx: EvaluationContext): BreakGlassEligibility {
    const policy = this.policies.breakGlassPolicy(policyName);
    const doc = describeDocument('BreakGlassPolicy', policyName);
    if (!policy) return { eligible: false, message: `there is no ${doc}` };
    if (!policy.subjects.matches(subject)) {
      return { eligible: false, message: `user ${JSON.stringify(subject.user)} is not among the subjects of ${doc}` };
    }
    if (!policy.clusters.covers(cluster)) {
      return { eligible: false, message: `${doc} does not cover cluster ${JSON.stringify(cluster.name)}` };
    }
    // A grant could not take effect while a disabled AccessPolicy shuts the subject out. A kill
    // switch does not make it useless (the console keeps working), so it is not checked here.
    const disabled = strongestDisabled(this.policies.applicable(subject, cluster, ctx.now));
    if (disabled) {
      return {
        eligible: false,
        message: `access to cluster ${JSON.stringify(cluster.name)} is disabled for user ${JSON.stringify(subject.user)} by ${describeDocument('AccessPolicy', disabled.policy.name)}, which break-glass does not override`,
      };
    }
    const spec = policy.document.spec;
    return {
      eligible: true,
      policy: policyName,
      maxDurationMs: spec.maxDuration.ms,
      justificationRequired: spec.justification === 'required',
      minApprovals: spec.approval.required ? spec.approval.minApprovals : 0,
    };
  }

  /**
   * Whether `approver` may approve `requesterUser`'s request under the named policy: the policy
   * requires approval, the approver is among its approvers, and is not the requester.
   */
  canApprove(approver: Subject, policyName: string, requesterUser: string): boolean {
    const policy = this.policies.breakGlassPolicy(policyName);
    if (!policy || policy.approvers === undefined) return false;
    if (approver.user === requesterUser) return false;
    return policy.approvers.matches(approver);
  }
}
