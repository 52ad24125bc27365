/**
 * What the policy engine is asked and what it answers. The engine is pure: documents, the
 * request and an evaluation context (with `now`) in, a decision out; no I/O, clock or
 * randomness, so every rule of policies/README.md ("How documents combine") is testable with
 * an injected time.
 */
import type { RequestAttributes } from '../kubernetes-api/request-attributes';
import type { ClusterRoleGrant, PolicyRule } from '../../policies/src';

/** A registered cluster as policies see it. */
export interface ClusterInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Who asks: the user and the groups kubegate's own records give them. */
export interface Subject {
  readonly user: string;
  readonly groups: readonly string[];
}

/** kubectl, helm and scripts through the edge, or the web console's own requests. */
export type Channel = 'kubectl' | 'console';

/** An approved (or approval-free) break-glass grant that is in force. */
export interface ActiveGrant {
  readonly id: string;
  /** The BreakGlassPolicy it was granted under. */
  readonly policy: string;
  readonly user: string;
  readonly cluster: string;
  /** Epoch ms; the grant is in force while now < expiresAt. */
  readonly expiresAt: number;
}

export interface EvaluationContext {
  /** Epoch ms. */
  readonly now: number;
  /** Epoch ms of the user's most recent console-session activity, if any session is open. */
  readonly lastConsoleActivity?: number;
  /** The user's grants (others are ignored), possibly already expired: the engine checks. */
  readonly grants: readonly ActiveGrant[];
}

export interface AccessRequest {
  readonly subject: Subject;
  readonly cluster: ClusterInfo;
  readonly channel: Channel;
  readonly attributes: RequestAttributes;
}

/** Why a request was refused; stable, for audit records and tests. */
export type DenyCode =
  /** No AccessPolicy (or grant) in force names this subject on this cluster. */
  | 'no-policy'
  /** Policies apply, but no rule allows this verb/resource/namespace/name. */
  | 'not-permitted'
  /** An AccessPolicy with accessMode: disabled names the subject on this cluster. */
  | 'access-disabled'
  /** A ClusterSettings kill switch (kubectl: disabled) covers the cluster. */
  | 'kubectl-disabled'
  /** The only policies that apply are console-only, and this is a kubectl request. */
  | 'console-only'
  /** The policies that would allow require an active console session, and there is none. */
  | 'session-required';

export type EngineDecision =
  | {
      readonly allowed: true;
      /** The AccessPolicy (or BreakGlassPolicy) whose rule allowed it. */
      readonly policy: string;
      readonly policyKind: 'AccessPolicy' | 'BreakGlassPolicy';
      /** Set when a break-glass grant allowed the request. */
      readonly breakGlassId?: string;
      /**
       * The index of the rule in the policy's `rules` that allowed it; absent when the policy
       * has clusterRoles and no rules, so the edge admits and the cluster's RBAC decides.
       */
      readonly rule?: number;
      /** Human-readable, for audit: e.g. `rule 0 of AccessPolicy "x" allows get pods in "a"`. */
      readonly reason: string;
      /** Epoch ms until which this exact decision stands if nothing in the store changes. */
      readonly validUntil: number;
    }
  | {
      readonly allowed: false;
      readonly code: DenyCode;
      /** Safe to show the user (kubectl prints it): says what was refused and, where useful, why. */
      readonly message: string;
      /** For audit and logs: which documents were considered and why none allowed. */
      readonly reason: string;
      /** The document that denied (access-disabled, kubectl-disabled), if one did. */
      readonly policy?: string;
      readonly validUntil: number;
    };

/** How a subject may reach one cluster, for kubeconfig contexts and the console's cluster list. */
export interface ClusterAccess {
  readonly cluster: string;
  /** 'none' when nothing grants access (or something denies it). */
  readonly mode: 'kubectl' | 'console-only' | 'none';
  /** Set when kubectl access depends on an active console session. */
  readonly requiresActiveSession: boolean;
  /** ClusterRoles the subject should hold inside the cluster under the policies in force. */
  readonly clusterRoles: readonly ClusterRoleGrant[];
  /** The documents that grant it, by name. */
  readonly policies: readonly string[];
  /** Epoch ms until which this answer stands if nothing in the store changes. */
  readonly validUntil: number;
}

/**
 * The rules by which the edge admits a subject's kubectl requests on a cluster now: the union of
 * the rules of every AccessPolicy and break-glass grant that would allow a kubectl request at
 * this moment. What `kubectl auth can-i --list` intersects with the cluster's own RBAC.
 */
export interface KubectlRules {
  /** A policy in force has clusterRoles and no rules: the edge admits everything, the cluster's RBAC decides. */
  readonly unrestricted: boolean;
  readonly rules: readonly PolicyRule[];
  /** Epoch ms until which this answer stands if nothing in the store changes. */
  readonly validUntil: number;
}

/** Whether a subject may request break-glass under a policy on a cluster, and how. */
export type BreakGlassEligibility =
  | {
      readonly eligible: true;
      readonly policy: string;
      readonly maxDurationMs: number;
      readonly justificationRequired: boolean;
      /** 0 when no approval is needed. */
      readonly minApprovals: number;
    }
  | { readonly eligible: false; readonly message: string };
