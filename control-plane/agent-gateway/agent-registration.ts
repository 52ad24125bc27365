/**
 * Why: an agent's certificate names its cluster and stays valid for its lifetime, but
 * deregistering the cluster (DELETE /clusters/NAME) must end that agent's access at once and
 * for good, even if the cluster is registered again under the same name later. So an agent is
 * admitted (its session's hello, a renewal, and again whenever the store changes) only while
 * its cluster is registered and that registration is not younger than its certificate: a
 * certificate issued before the current registration belongs to one that was deregistered.
 * A fresh join after a new registration issues a certificate younger than it, which is admitted.
 */
import type { ClusterRecord } from '../store/store';
import { AgentIdentitySupersededError, ClusterNotRegisteredError, type AgentError } from './agent-errors';

/**
 * kubegate's PKI dates every certificate's notBefore a minute before it is issued, for clock
 * skew (pki/kubegate-pki.ts); the issue time is that much after notBefore.
 * test/agent/agent-registration.test.ts holds the PKI to it.
 */
export const CERTIFICATE_BACKDATE_MS = 60_000;

/**
 * The latest a certificate with this notBefore (epoch ms) can have been issued: X.509 times
 * are whole seconds, so the last millisecond of the second it was issued in. A registration
 * made within that same second admits it. 0 when it cannot be told (admitted by nothing).
 */
export function certifiedAt(notBefore: number): number {
  return Number.isFinite(notBefore) ? Math.floor(notBefore / 1000) * 1000 + CERTIFICATE_BACKDATE_MS + 999 : 0;
}

/** Why an agent certified at `certified` is not admitted to `cluster`, or undefined if it is. */
export function registrationRefusal(cluster: string, record: ClusterRecord | undefined, certified: number): AgentError | undefined {
  if (!record) return new ClusterNotRegisteredError(cluster);
  if (record.registeredAt > certified) return new AgentIdentitySupersededError(cluster, record.registeredAt, certified);
  return undefined;
}
