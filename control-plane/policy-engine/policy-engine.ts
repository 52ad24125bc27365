/**
 * The policy engine: decides requests from a set of policy documents exactly as
 * policies/README.md, "How documents combine", describes. Built once per policy set; pure
 * afterwards (no I/O, clock or randomness: the time comes in the EvaluationContext), so every
 * rule is testable with an injected time.
 *
 * Evaluation order, and why:
 * 1. The kubectl kill switch (ClusterSettings `kubectl: disabled`) refuses kubectl requests
 *    before anything else: it overrides every grant, break-glass included, and depends on no
 *    time, so the refusal stands until the store changes.
 * 2. An AccessPolicy with `accessMode: disabled` in force for the subject on the cluster refuses
 *    every channel, whatever else allows.
 * 3. Otherwise the AccessPolicies in force naming the subject on the cluster, and the subject's
 *    active break-glass grants, are tried; any one that allows the request (its rules match, or
 *    it has clusterRoles and no rules, and its access mode admits the channel) allows it.
 * 4. If none allows, the refusal says the most useful reason: a session is required, the access
 *    is console-only, nothing is permitted, or no policy applies at all.
 *
 * Every decision carries validUntil, the earliest instant at which it could change with the
 * same documents and store state; caches and open-stream re-checks depend on it never being late.
 */
import type {
  AccessMode,
  AccessPolicy,
  BreakGlassPolicy,
  ClusterRoleGrant,
  ClusterSettings,
  PolicyDocument,
  PolicyRule,
} from '../../policies/src';
import { compileClusterScope, type ClusterMatcher } from './cluster-matcher';
import { ClusterSettingsResolver } from './cluster-settings-resolver';
import { describeAction, describeDocument, describeRefusal, describeSubject, isoTime, listSome } from './describe-request';
import type {
  AccessRequest,
  ActiveGrant,
  BreakGlassEligibility,
  ClusterAccess,
  ClusterInfo,
  DenyCode,
  EngineDecision,
  EvaluationContext,
  KubectlRules,
  Subject,
} from './engine-contract';
import { createCheckVerb, requestTarget, type RequestTarget } from './request-target';
import { RuleSet } from './rule-matcher';
import { compileSubjects, SubjectIndex, type SubjectMatcher } from './subject-index';
import { FOREVER, ValiditySchedule, type ValidityState } from './validity-clock';

/** A policy with clusterRoles and no rules admits every request at the edge. */
const ADMITTED_FOR_CLUSTER_RBAC = -2;
const NO_MATCH = -1;

const ALWAYS: ValidityState = Object.freeze({ inForce: true, until: FOREVER });

interface CompiledAccessPolicy {
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

interface CompiledBreakGlassPolicy {
  readonly name: string;
  readonly document: BreakGlassPolicy;
  readonly subjects: SubjectMatcher;
  readonly approvers: SubjectMatcher | undefined;
  readonly clusters: ClusterMatcher;
  readonly rules: RuleSet | undefined;
  readonly ruleList: readonly PolicyRule[];
  readonly clusterRoles: readonly ClusterRoleGrant[];
}

/** An AccessPolicy naming the subject that covers the cluster, with its validity at `now`. */
interface Applicable {
  readonly policy: CompiledAccessPolicy;
  readonly state: ValidityState;
}

/** What allowed a request, before it becomes a decision. */
interface Allower {
  readonly kind: 'AccessPolicy' | 'BreakGlassPolicy';
  readonly name: string;
  readonly rule: number;
  readonly grant: ActiveGrant | undefined;
  /** When this allower stops allowing on its own (validity, session, grant expiry). */
  readonly until: number;
}

/** Why a document did not allow a request, for the audit reason of a refusal. */
type Note =
  | { readonly kind: 'disabled-not-in-force' | 'not-in-force' | 'console-only'; readonly name: string }
  | { readonly kind: 'default-disabled'; readonly name: string; readonly by: string }
  | { readonly kind: 'no-rule'; readonly name: string; readonly mode: AccessMode }
  | { readonly kind: 'session'; readonly name: string; readonly within: string; readonly last: number | undefined }
  | { readonly kind: 'grant-no-rule'; readonly name: string; readonly grant: string };

function describeNote(note: Note): string {
  const doc = describeDocument('AccessPolicy', note.name);
  switch (note.kind) {
    case 'disabled-not-in-force':
      return `${doc} (disabled) not in force`;
    case 'not-in-force':
      return `${doc} not in force`;
    case 'console-only':
      return `${doc} matches but is console-only`;
    case 'default-disabled':
      return `${doc} grants nothing here (defaultAccessMode disabled by ${describeDocument('ClusterSettings', note.by)})`;
    case 'no-rule':
      return `${doc} (${note.mode}) has no matching rule`;
    case 'session':
      return `${doc} matches but requires a console session active within ${note.within} (last activity: ${note.last === undefined ? 'none' : isoTime(note.last)})`;
    case 'grant-no-rule':
      return `break-glass grant ${JSON.stringify(note.grant)} (${describeDocument('BreakGlassPolicy', note.name)}) has no matching rule`;
  }
}

type Denial = Extract<EngineDecision, { allowed: false }>;

function ruleOf(rules: RuleSet | undefined, target: RequestTarget): number {
  return rules === undefined ? ADMITTED_FOR_CLUSTER_RBAC : rules.match(target);
}

function describeMatch(kind: string, name: string, rule: number, target: RequestTarget): string {
  const doc = describeDocument(kind, name);
  if (rule === ADMITTED_FOR_CLUSTER_RBAC) return `${doc} admits ${describeAction(target)} at the edge (clusterRoles only: the cluster's RBAC decides)`;
  return `rule ${rule} of ${doc} allows ${describeAction(target)}`;
}

export class PolicyEngine {
  private readonly accessPolicies: SubjectIndex<CompiledAccessPolicy>;
  private readonly breakGlass = new Map<string, CompiledBreakGlassPolicy>();
  private readonly settings: ClusterSettingsResolver;

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

  evaluate(request: AccessRequest, ctx: EvaluationContext): EngineDecision {
    const target = requestTarget(request.attributes);
    const decision = this.decide(request, target, ctx);
    const extraVerb = createCheckVerb(target);
    if (!decision.allowed || extraVerb === undefined) return decision;

    // A pod session opened with a GET (WebSocket) also needs create, as kube-apiserver checks.
    const createTarget: RequestTarget = { ...target, verb: extraVerb };
    const create = this.decide(request, createTarget, ctx);
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
    return this.settings.resolve(cluster).serviceAccountIdleTimeoutMs;
  }

  /** How the subject may reach the cluster now, for kubeconfig contexts and the console. */
  clusterAccess(subject: Subject, cluster: ClusterInfo, ctx: EvaluationContext): ClusterAccess {
    const now = ctx.now;
    const settings = this.settings.resolve(cluster);
    const applicable = this.applicable(subject, cluster, now);
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
    for (const { grant, policy } of this.activeGrants(subject, cluster, ctx)) {
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
    const settings = this.settings.resolve(cluster);
    const applicable = this.applicable(subject, cluster, now);
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
    for (const { grant, policy } of this.activeGrants(subject, cluster, ctx)) {
      validUntil = Math.min(validUntil, grant.expiresAt);
      if (policy.rules === undefined) unrestricted = true;
      else rules.push(...policy.ruleList);
    }
    return { unrestricted, rules, validUntil };
  }

  /** Whether the subject may request break-glass under the named policy on the cluster. */
  breakGlassEligibility(subject: Subject, policyName: string, cluster: ClusterInfo, ctx: EvaluationContext): BreakGlassEligibility {
    const policy = this.breakGlass.get(policyName);
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
    const disabled = strongestDisabled(this.applicable(subject, cluster, ctx.now));
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
    const policy = this.breakGlass.get(policyName);
    if (!policy || policy.approvers === undefined) return false;
    if (approver.user === requesterUser) return false;
    return policy.approvers.matches(approver);
  }

  /** The AccessPolicies naming the subject that cover the cluster, in document order. */
  private applicable(subject: Subject, cluster: ClusterInfo, now: number): Applicable[] {
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
  private activeGrants(subject: Subject, cluster: ClusterInfo, ctx: EvaluationContext): { grant: ActiveGrant; policy: CompiledBreakGlassPolicy }[] {
    const out: { grant: ActiveGrant; policy: CompiledBreakGlassPolicy }[] = [];
    for (const grant of ctx.grants) {
      if (grant.user !== subject.user || grant.cluster !== cluster.name || !(ctx.now < grant.expiresAt)) continue;
      const policy = this.breakGlass.get(grant.policy);
      if (!policy || !policy.clusters.covers(cluster) || !policy.subjects.matches(subject)) continue;
      out.push({ grant, policy });
    }
    return out;
  }

  private decide(request: AccessRequest, target: RequestTarget, ctx: EvaluationContext): EngineDecision {
    const { subject, cluster, channel } = request;
    const now = ctx.now;
    const settings = this.settings.resolve(cluster);
    const refusal = (): string => describeRefusal(subject, cluster, target);

    // 1. The kill switch.
    if (channel === 'kubectl' && settings.killSwitch !== undefined) {
      const by = describeDocument('ClusterSettings', settings.killSwitch);
      return {
        allowed: false,
        code: 'kubectl-disabled',
        message: `${refusal()}: kubectl is disabled on this cluster by ${by}; the web console still works`,
        reason: `${by} sets kubectl: disabled on cluster ${JSON.stringify(cluster.name)}; refused ${describeSubject(subject)} ${describeAction(target)} over kubectl`,
        policy: settings.killSwitch,
        validUntil: FOREVER,
      };
    }

    // 2. accessMode: disabled.
    const applicable = this.applicable(subject, cluster, now);
    const disabled = strongestDisabled(applicable);
    if (disabled) {
      const by = describeDocument('AccessPolicy', disabled.policy.name);
      return {
        allowed: false,
        code: 'access-disabled',
        message: `${refusal()}: access disabled by ${by}`,
        reason: `${by} (accessMode: disabled) is in force for ${describeSubject(subject)} on cluster ${JSON.stringify(cluster.name)}`,
        policy: disabled.policy.name,
        // Refused for as long as this (the longest-lasting) disabled policy stays in force.
        validUntil: disabled.state.until,
      };
    }

    // 3. What allows: AccessPolicies in force whose mode admits the channel, and grants.
    let best: Allower | undefined;
    // Whatever could change a refusal: any applicable policy changing state, any grant expiring.
    let refusalUntil = FOREVER;
    // Whatever could end an allowance besides the allower itself: a disabled policy coming into force.
    let allowanceLimit = FOREVER;
    let inForce = 0;
    let kubectlCapable = 0;
    // Why each document did not allow; only turned into words if the request is refused.
    const notes: Note[] = [];

    for (const { policy, state } of applicable) {
      refusalUntil = Math.min(refusalUntil, state.until);
      if (policy.accessMode === 'disabled') {
        // Not in force (strongestDisabled found none in force), but may come into force.
        allowanceLimit = Math.min(allowanceLimit, state.until);
        notes.push({ kind: 'disabled-not-in-force', name: policy.name });
        continue;
      }
      if (!state.inForce) {
        notes.push({ kind: 'not-in-force', name: policy.name });
        continue;
      }
      const mode = policy.accessMode ?? settings.defaultAccessMode;
      if (mode === 'disabled') {
        notes.push({ kind: 'default-disabled', name: policy.name, by: settings.defaultFrom ?? '' });
        continue;
      }
      inForce++;
      if (mode === 'kubectl') kubectlCapable++;
      const rule = ruleOf(policy.rules, target);
      if (rule === NO_MATCH) {
        notes.push({ kind: 'no-rule', name: policy.name, mode });
        continue;
      }
      let until = state.until;
      if (channel === 'kubectl') {
        if (mode === 'console-only') {
          notes.push({ kind: 'console-only', name: policy.name });
          continue;
        }
        if (policy.session) {
          const last = ctx.lastConsoleActivity;
          if (last === undefined || now - last > policy.session.withinMs) {
            notes.push({ kind: 'session', name: policy.name, within: policy.session.text, last });
            continue;
          }
          // Allowed while now - last <= within, that is until last + within + 1 ms.
          until = Math.min(until, last + policy.session.withinMs + 1);
        }
      }
      // The allower that lasts longest decides (ties: the first in document order).
      if (best === undefined || until > best.until) best = { kind: 'AccessPolicy', name: policy.name, rule, grant: undefined, until };
    }

    for (const { grant, policy } of this.activeGrants(subject, cluster, ctx)) {
      refusalUntil = Math.min(refusalUntil, grant.expiresAt);
      inForce++;
      kubectlCapable++;
      const rule = ruleOf(policy.rules, target);
      if (rule === NO_MATCH) {
        notes.push({ kind: 'grant-no-rule', name: policy.name, grant: grant.id });
        continue;
      }
      if (best === undefined || grant.expiresAt > best.until) best = { kind: 'BreakGlassPolicy', name: policy.name, rule, grant, until: grant.expiresAt };
    }

    if (best) {
      const why = describeMatch(best.kind, best.name, best.rule, target);
      return {
        allowed: true,
        policy: best.name,
        policyKind: best.kind,
        ...(best.grant ? { breakGlassId: best.grant.id } : {}),
        ...(best.rule >= 0 ? { rule: best.rule } : {}),
        reason: best.grant ? `${why} under break-glass grant ${JSON.stringify(best.grant.id)} until ${isoTime(best.grant.expiresAt)}` : why,
        validUntil: Math.min(best.until, allowanceLimit),
      };
    }

    // 4. Refused: the most useful reason.
    const considered = notes.length === 0 ? 'no AccessPolicy or break-glass grant names them on this cluster' : listSome(notes, describeNote);
    const reason = `${describeSubject(subject)} on cluster ${JSON.stringify(cluster.name)} over ${channel}: ${considered}`;
    const refuse = (code: DenyCode, why: string, validUntil: number): Denial => ({
      allowed: false,
      code,
      message: `${refusal()}: ${why}`,
      reason,
      validUntil,
    });
    const sessionMatched = notes.filter((n): n is Extract<Note, { kind: 'session' }> => n.kind === 'session');
    const consoleOnlyMatched = notes.filter((n) => n.kind === 'console-only').map((n) => n.name);
    if (sessionMatched.length > 0) {
      const first = sessionMatched[0]!;
      // Depends on console activity, which changes without the store's generation advancing:
      // valid until now means never reused.
      return refuse(
        'session-required',
        `requires an active console session within ${first.within} (${describeDocument('AccessPolicy', first.name)}); use the kubegate web console, then retry`,
        now,
      );
    }
    if (consoleOnlyMatched.length > 0 || (channel === 'kubectl' && inForce > 0 && kubectlCapable === 0)) {
      const by = consoleOnlyMatched.length > 0 ? ` (${describeDocument('AccessPolicy', consoleOnlyMatched[0]!)})` : '';
      return refuse('console-only', `your access to this cluster is console-only${by}; use the kubegate web console`, refusalUntil);
    }
    if (inForce === 0) return refuse('no-policy', 'no policy in force grants you access to this cluster', refusalUntil);
    return refuse('not-permitted', 'not permitted by any rule of your policies', refusalUntil);
  }
}

/**
 * The disabled AccessPolicy in force that stays in force longest, or undefined: while any is in
 * force the subject is refused, so the refusal lasts until the last of them ends.
 */
function strongestDisabled(applicable: readonly Applicable[]): Applicable | undefined {
  let found: Applicable | undefined;
  for (const a of applicable) {
    if (a.policy.accessMode !== 'disabled' || !a.state.inForce) continue;
    if (found === undefined || a.state.until > found.state.until) found = a;
  }
  return found;
}

function compileAccessPolicy(doc: AccessPolicy, index: number): CompiledAccessPolicy {
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

function compileBreakGlassPolicy(doc: BreakGlassPolicy): CompiledBreakGlassPolicy {
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

/**
 * One grant per ClusterRole: bound cluster-wide if any source binds it cluster-wide, else in the
 * union of the namespaces (sorted), so the binding reconciler sees a stable set.
 */
export function mergeClusterRoles(grants: readonly ClusterRoleGrant[]): ClusterRoleGrant[] {
  const byName = new Map<string, Set<string> | 'cluster'>();
  for (const g of grants) {
    const known = byName.get(g.name);
    if (known === 'cluster') continue;
    if (!g.namespaces) {
      byName.set(g.name, 'cluster');
      continue;
    }
    const set = known ?? new Set<string>();
    for (const ns of g.namespaces) set.add(ns);
    byName.set(g.name, set);
  }
  return [...byName.keys()].sort().map((name) => {
    const scope = byName.get(name)!;
    return scope === 'cluster' ? { name } : { name, namespaces: [...scope].sort() };
  });
}
