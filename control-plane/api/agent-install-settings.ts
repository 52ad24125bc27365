/**
 * Why: what the hub needs to hand a member cluster its agent with one command
 * (`kubegate cluster add`): where agents reach it, which images and ClusterRoles the agent
 * gets, where the install links point and how long they last. The controller fills it from its
 * configuration (server/controller-config.ts, `agentInstall`); the admin API's routes and the
 * install listener read it. The images here are the images every served manifest names, so an
 * upgrade of the agent is a change of this configuration, not a task for the cluster's admin.
 */

/** An install link's lifetimes live with its token, where the hub's construct checks them too. */
export { DEFAULT_INSTALL_TTL_MS, MAX_INSTALL_TTL_MS, MIN_INSTALL_TTL_MS } from '../agent-gateway/install-token';
/** The join token inside a served manifest: long enough for a slow image pull, then useless. */
export const INSTALL_JOIN_TOKEN_TTL_MS = 3_600_000;

export interface AgentInstallSettings {
  /** The hub's agent port as member clusters reach it, HOST:PORT. */
  readonly hubAgentEndpoint: string;
  /** The CA agents verify the hub's agent port with (the internal CA). */
  readonly hubCaPem: string;
  readonly images: { readonly agent: string; readonly envoy: string };
  /** ClusterRoles kubegate may bind for users in member clusters. */
  readonly allowedClusterRoles: readonly string[];
  /** The install listener's base URL as a cluster's admin reaches it, e.g. https://hub.example:8444 */
  readonly publicUrl: string;
  /**
   * The CA of the certificate served at publicUrl, which the printed command makes kubectl trust;
   * undefined when that certificate is publicly trusted (a plain `kubectl apply -f URL` then).
   */
  readonly servingCaPem: string | undefined;
  /** Lifetime of a link when `cluster add` names none. @default DEFAULT_INSTALL_TTL_MS */
  readonly defaultTtlMs?: number;
}
