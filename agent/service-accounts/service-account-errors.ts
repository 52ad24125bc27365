/**
 * Failures of the per-user ServiceAccount lifecycle that are kubegate's own decisions, not the
 * apiserver's (those arrive as the client's Kube*Error classes).
 */

/**
 * The access asks for a ClusterRole the cluster admin did not allow kubegate to bind. Raised
 * before any request is made: nothing of that ensure() reaches the cluster.
 */
export class ClusterRoleNotAllowedError extends Error {
  readonly code = 'ERR_CLUSTER_ROLE_NOT_ALLOWED';
  constructor(
    readonly user: string,
    readonly refused: readonly string[],
    readonly allowed: readonly string[],
  ) {
    super(
      `kubegate may not bind ClusterRole${refused.length > 1 ? 's' : ''} ${refused.map((r) => JSON.stringify(r)).join(', ')} for user ${JSON.stringify(user)} in this cluster; ` +
        `allowed: ${allowed.length > 0 ? allowed.map((r) => JSON.stringify(r)).join(', ') : 'none'}. ` +
        `A cluster admin allows a role by adding it to the agent's allowedClusterRoles (constructs/agent-rbac.md); otherwise change the policy`,
    );
    this.name = 'ClusterRoleNotAllowedError';
  }
}

/**
 * The ServiceAccount name derived for `user` is held by a ServiceAccount kubegate made for
 * another user (a 40-bit hash collision, or a hand-edited annotation). kubegate refuses to
 * share it: the two users would share every right.
 */
export class ServiceAccountCollisionError extends Error {
  readonly code = 'ERR_SERVICE_ACCOUNT_COLLISION';
  constructor(
    readonly user: string,
    readonly serviceAccount: string,
    readonly existingUser: string | undefined,
  ) {
    super(
      `ServiceAccount ${serviceAccount} belongs to ${existingUser === undefined ? 'no kubegate user (no kubegate.io/user annotation)' : `user ${JSON.stringify(existingUser)}`}, ` +
        `not to ${JSON.stringify(user)}; kubegate will not share it. Remove that ServiceAccount if it is stale`,
    );
    this.name = 'ServiceAccountCollisionError';
  }
}

/** The UserAccess cannot be acted on (an empty user name). */
export class InvalidUserAccessError extends Error {
  readonly code = 'ERR_INVALID_USER_ACCESS';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidUserAccessError';
  }
}
