/**
 * What the authorizer reads on every request: kubegate's records and the policy engine, as
 * the control plane holds them in memory. Nothing here touches the database; the control
 * plane replaces the view's contents when the store reports a change, and `generation`
 * advances with every such change so cached decisions never outlive what they were based on.
 */
import type { AccessRequest, ClusterAccess, ClusterInfo, EngineDecision, EvaluationContext, KubectlRules, Subject } from '../policy-engine/engine-contract';

/** The engine as the authorizer uses it. */
export interface Evaluator {
  evaluate(request: AccessRequest, context: EvaluationContext): EngineDecision;
  clusterAccess(subject: Subject, cluster: ClusterInfo, context: EvaluationContext): ClusterAccess;
  kubectlRules(subject: Subject, cluster: ClusterInfo, context: EvaluationContext): KubectlRules;
}

/** What the authorizer needs of a user's record (the store's UserRecord has this shape and more). */
export interface ViewUser {
  readonly name: string;
  readonly groups: readonly string[];
  readonly disabled: boolean;
}

export interface AuthorizationView {
  readonly generation: number;
  /** identity/user-identity.ts: the suffix of users' TLS server names. */
  readonly userServerNameSuffix: string;
  /** The TLS server name of the user's own endpoint (userServerName with this suffix). */
  serverNameOf(user: string): string;
  readonly engine: Evaluator;
  user(name: string): ViewUser | undefined;
  isRevoked(serial: string): boolean;
  cluster(name: string): ClusterInfo | undefined;
  /** The user's console activity and break-glass grants, for the engine. */
  evaluationContext(user: string, now: number): EvaluationContext;
}
