/**
 * What decides in the audit benchmark, set up without a cluster or an Envoy (neither is on the
 * path being measured): authz-overhead's population and policy set (bench/authz-support.ts) in a
 * real SQLite store, loaded into an AccessState as the control plane loads it, with the bench
 * cluster registered; kubegate's PKI for the check servers and their client; certificates for
 * the users the Check load speaks for; and decision events exactly as the control plane writes
 * them (a PolicyAuthorizer's decisions through decisionEvent).
 */
import type { AuditEvent } from '../control-plane/audit/audit-event';
import { decisionEvent } from '../control-plane/audit/decision-event';
import { AccessState } from '../control-plane/access-state/access-state';
import { PolicyAuthorizer } from '../control-plane/authz/policy-authorizer';
import { toAuthzRequest } from '../control-plane/authz/check-response';
import { DecisionCache } from '../control-plane/policy-engine/decision-cache';
import { loadOrCreatePki, type KubegatePki } from '../control-plane/pki/kubegate-pki';
import { openStore } from '../control-plane/store/open-store';
import { userServerName, userUri } from '../control-plane/identity/user-identity';
import { BenchUserCertificates, bulkCreateUsers, signedBy } from './bench-support';
import { BENCH_CLUSTER, BENCH_CLUSTER_LABELS, policyFiles, userGroups, userName } from './authz-support';
import { CheckRequestSource, type CheckUser } from './check-load-support';

/** The edge port the Check requests claim they arrived on; nothing listens there. */
export const CLAIMED_EDGE_PORT = 8443;

export interface AuditBenchAccess {
  readonly pki: KubegatePki;
  readonly access: AccessState;
  /** The users the Check load speaks for, spread over the population. */
  readonly checkUsers: readonly CheckUser[];
  /** A PolicyAuthorizer over `access` with a decision cache of its own, as the control plane builds it. */
  authorizer(): PolicyAuthorizer;
}

export async function prepareAuditBenchAccess(opts: { stateDir: string; storeFile: string; users: number; checkUsers: number }): Promise<AuditBenchAccess> {
  const pki = loadOrCreatePki({ stateDir: opts.stateDir, now: new Date() });
  await bulkCreateUsers(opts.storeFile, Array.from({ length: opts.users }, (_, i) => ({ name: userName(i), groups: userGroups(i) })));
  const store = await openStore(`sqlite:${opts.storeFile}`);
  let state;
  try {
    const current = await store.getPolicySet();
    await store.applyPolicySet({ files: policyFiles(), appliedAt: Date.now(), appliedBy: 'bench', expectedRevision: current.revision });
    state = await store.loadState(Date.now());
  } finally {
    await store.close();
  }
  const access = new AccessState();
  const policyError = access.applyStoreState(state);
  if (policyError) throw new Error(`the bench policy set does not load: ${policyError.message}`);
  access.setClusters([{ name: BENCH_CLUSTER, labels: { ...BENCH_CLUSTER_LABELS } }]);

  // Spread over the whole population, so the users' records and decisions vary as in traffic.
  const certificates = new BenchUserCertificates(pki.userCa);
  const pems: string[] = [];
  const checkUsers = Array.from({ length: opts.checkUsers }, (_, k): CheckUser => {
    const index = Math.floor((k / opts.checkUsers) * opts.users);
    const name = userName(index);
    pems.push(certificates.issue(name, 3_600_000).certPem);
    // As Envoy's include_peer_certificate sends it: the PEM, URL-encoded.
    return { index, name, principal: userUri(name), sni: userServerName(name), encodedCertificate: encodeURIComponent(pems[k]!) };
  });
  if (!pems.every((pem) => signedBy(pem, pki.userCa.certPem))) throw new Error('the user certificates made for the load do not verify against the user CA');

  return { pki, access, checkUsers, authorizer: () => new PolicyAuthorizer({ view: () => access, cache: new DecisionCache() }) };
}

/**
 * `count` decision events as the control plane would record them for the Check load's
 * requests (half of them naming objects never seen, so paths and names vary as in real
 * traffic): allows and denials, with the user's groups, attributes, policy and reason.
 */
export function sampleDecisionEvents(setup: AuditBenchAccess, count: number): AuditEvent[] {
  const source = new CheckRequestSource({ users: setup.checkUsers, missFraction: 0.5, edgePort: CLAIMED_EDGE_PORT, seed: 3 });
  const authorizer = setup.authorizer();
  return Array.from({ length: count }, () => {
    const request = toAuthzRequest(source.requestType.decode(source.next().subarray(5)) as unknown as Parameters<typeof toAuthzRequest>[0]);
    return decisionEvent(request, authorizer.decide(request), Date.now());
  });
}
