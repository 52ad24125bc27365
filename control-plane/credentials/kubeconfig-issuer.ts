/**
 * Issues a user's kubeconfig: a short-lived certificate, recorded in the store before anyone
 * can use it (so it can be revoked), and one context per cluster the user may reach with
 * kubectl under the policies in force. A user with no kubectl access anywhere gets an error
 * saying so, never an empty kubeconfig. Only users holding a live certificate have a filter
 * chain at the edge, so the kubeconfig is returned once the edge has the user's chain: its
 * first request works.
 */
import type { KeyPairPem } from '../pki/certificates';
import type { Store } from '../store/store';
import type { AccessState, EdgeConfirmation } from '../access-state/access-state';
import { issueUserCertificate, CredentialRequestError } from './user-certificate';
import { buildKubeconfig } from './kubeconfig';

export interface KubeconfigIssuerDeps {
  readonly store: Store;
  readonly access: AccessState;
  readonly userCa: KeyPairPem;
  readonly edgeUrl: string;
  readonly edgeCaPem: string;
  readonly userServerNameSuffix: string;
  readonly maxTtlMs?: number;
}

export interface IssuedKubeconfig {
  readonly kubeconfig: string;
  readonly user: string;
  readonly clusters: readonly string[];
  readonly serial: string;
  readonly notAfter: Date;
  /** evenWithoutAccess was needed: the user may reach none of these clusters with kubectl. */
  readonly withoutAccess: boolean;
  /** Whether the edge had the user's filter chain when this was returned (see EdgeConfirmation). */
  readonly edge: EdgeConfirmation;
}

/** The user is unknown, disabled, or may reach no cluster with kubectl. */
export class NoKubectlAccessError extends Error {
  readonly code = 'ERR_NO_KUBECTL_ACCESS';
  constructor(message: string) {
    super(message);
    this.name = 'NoKubectlAccessError';
  }
}

export async function issueKubeconfig(
  deps: KubeconfigIssuerDeps,
  req: {
    user: string;
    ttlMs: number;
    now: Date;
    clusters?: readonly string[];
    /**
     * Issue even when the user may reach no cluster, with a context for every cluster (all
     * refused at the edge until a policy grants access). Only for the operator's own bootstrap
     * credential, which also authenticates to the admin API.
     */
    evenWithoutAccess?: boolean;
  },
): Promise<IssuedKubeconfig> {
  const record = deps.access.user(req.user);
  if (!record) throw new NoKubectlAccessError(`user "${req.user}" does not exist: create it first (kubegate user create ${req.user})`);
  if (record.disabled) throw new NoKubectlAccessError(`user "${req.user}" is disabled`);
  const subject = { user: record.name, groups: record.groups };
  const context = deps.access.evaluationContext(record.name, req.now.getTime());
  const reachable = deps.access
    .allClusters()
    .filter((c) => deps.access.engine.clusterAccess(subject, c, context).mode === 'kubectl')
    .map((c) => c.name)
    .sort();
  const unknown = (req.clusters ?? []).filter((c) => !deps.access.cluster(c));
  if (unknown.length > 0) throw new CredentialRequestError(`no cluster named ${unknown.map((c) => `"${c}"`).join(', ')}`);
  let wanted = req.clusters ? reachable.filter((c) => req.clusters!.includes(c)) : reachable;
  const withoutAccess = wanted.length === 0 && req.evenWithoutAccess === true;
  if (withoutAccess) wanted = req.clusters ? [...req.clusters] : deps.access.allClusters().map((c) => c.name).sort();
  if (wanted.length === 0 && !withoutAccess) {
    const which = req.clusters ? `any of ${req.clusters.join(', ')}` : 'any cluster';
    throw new NoKubectlAccessError(`user "${req.user}" has no kubectl access to ${which} under the policies in force; ask for an AccessPolicy that names them or one of their groups`);
  }
  const cert = issueUserCertificate(deps.userCa, { user: record.name, ttlMs: req.ttlMs, now: req.now, ...(deps.maxTtlMs ? { maxTtlMs: deps.maxTtlMs } : {}) });
  const recorded = {
    serial: cert.serial,
    user: record.name,
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    issuedAt: req.now.getTime(),
  };
  await deps.store.recordCertificate(recorded);
  const edge = await deps.access.certificateIssued(recorded);
  const kubeconfig = buildKubeconfig({
    edgeUrl: deps.edgeUrl,
    edgeCaPem: deps.edgeCaPem,
    user: record.name,
    clientCertPem: cert.certPem,
    clientKeyPem: cert.keyPem,
    clusters: wanted,
    userServerNameSuffix: deps.userServerNameSuffix,
  });
  return { kubeconfig, user: record.name, clusters: wanted, serial: cert.serial, notAfter: cert.notAfter, withoutAccess, edge };
}
