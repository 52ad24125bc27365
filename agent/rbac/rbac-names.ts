/**
 * The names of the agent's and the in-cluster proxy's identities in a cluster. The agent needs
 * them at run time (the proxy's token, its own); the manifests that create the identities and
 * their rights are constructs/agent-rbac.ts.
 */
export const DEFAULT_AGENT_NAMESPACE = 'kubegate-system';
export const AGENT_SERVICE_ACCOUNT = 'kubegate-agent';
export const PROXY_SERVICE_ACCOUNT = 'kubegate-proxy';
/** The Secret the agent keeps its own certificate in (in the agent namespace); it may read and update only this one. */
export const AGENT_IDENTITY_SECRET = 'kubegate-agent-identity';
