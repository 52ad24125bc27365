/**
 * One request decided against a policy set, in the engine's evaluation order:
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
 * Apart from the engine (policy-engine.ts), which adds the second check a pod session needs and
 * answers the queries that are not decisions.
 */
import { describeAction, describeDocument, describeRefusal, describeSubject, isoTime, listSome } from './describe-request';
import type { AccessRequest, ActiveGrant, DenyCode, EngineDecision, EvaluationContext } from './engine-contract';
import { strongestDisabled, type PolicySet } from './policy-set';
import { describeNote, type Note } from './refusal-notes';
import type { RequestTarget } from './request-target';
import type { RuleSet } from './rule-matcher';
import { FOREVER } from './validity-clock';

/** A policy with clusterRoles and no rules admits every request at the edge. */
const ADMITTED_FOR_CLUSTER_RBAC = -2;
const NO_MATCH = -1;

/** What allowed a request, before it becomes a decision. */
interface Allower {
  readonly kind: 'AccessPolicy' | 'BreakGlassPolicy';
  readonly name: string;
  readonly rule: number;
  readonly grant: ActiveGrant | undefined;
  /** When this allower stops allowing on its own (validity, session, grant expiry). */
  readonly until: number;
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

export function decideRequest(policies: PolicySet, request: AccessRequest, target: RequestTarget, ctx: EvaluationContext): EngineDecision {
  const { subject, cluster, channel } = request;
  const now = ctx.now;
  const settings = policies.settings.resolve(cluster);
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
  const applicable = policies.applicable(subject, cluster, now);
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

  for (const { grant, policy } of policies.activeGrants(subject, cluster, ctx)) {
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
