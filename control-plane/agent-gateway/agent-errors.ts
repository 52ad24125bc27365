/** Failures of the agent side of the control plane; `message` is safe to show a user. */
export class AgentError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The cluster's agent is not connected, so nothing can reach the cluster now. */
export class ClusterDisconnectedError extends AgentError {
  constructor(cluster: string, lastSeenAt: number | undefined) {
    const seen = lastSeenAt ? `; its agent was last seen ${new Date(lastSeenAt).toISOString()}` : '; its agent never connected';
    super('ERR_CLUSTER_DISCONNECTED', `kubegate: cluster "${cluster}" is disconnected${seen}`);
  }
}

/** The agent did not answer a command in time. */
export class AgentTimeoutError extends AgentError {
  constructor(cluster: string, what: string, ms: number) {
    super('ERR_AGENT_TIMEOUT', `kubegate: the agent of cluster "${cluster}" did not ${what} within ${ms} ms`);
  }
}

/** The agent answered a command with a failure. */
export class AgentCommandFailedError extends AgentError {
  constructor(cluster: string, what: string, error: string) {
    super('ERR_AGENT_COMMAND_FAILED', `kubegate: the agent of cluster "${cluster}" could not ${what}: ${error}`);
  }
}

/** An agent's request was refused (bad token, wrong cluster, no certificate). */
export class AgentRefusedError extends AgentError {
  constructor(message: string, detail?: string) {
    super('ERR_AGENT_REFUSED', message, detail);
  }
}

/**
 * The cluster an agent's certificate names is not registered (deregistered, or never): the
 * certificate no longer admits the agent, here or at renewal.
 */
export class ClusterNotRegisteredError extends AgentError {
  constructor(cluster: string) {
    super(
      'ERR_CLUSTER_NOT_REGISTERED',
      `kubegate: cluster "${cluster}" is not registered (it was deregistered), so this agent's certificate no longer admits it; to bring the cluster back, register it (kubegate cluster register ${cluster}) and join with a new join token (kubegate cluster join-token ${cluster})`,
    );
  }
}

/**
 * The cluster was registered again after the agent's certificate was issued: the certificate
 * belongs to the earlier registration, which was deregistered, and admits nothing any more.
 */
export class AgentIdentitySupersededError extends AgentError {
  constructor(cluster: string, registeredAt: number, certifiedAt: number) {
    super(
      'ERR_AGENT_IDENTITY_SUPERSEDED',
      `kubegate: cluster "${cluster}" was registered again at ${new Date(registeredAt).toISOString()}, after this agent's certificate was issued (${new Date(certifiedAt).toISOString().replace(/\.\d+Z$/, 'Z')}), so the certificate belongs to a deregistered registration and no longer admits it; join with a new join token (kubegate cluster join-token ${cluster})`,
    );
  }
}
