/**
 * The edge's decision for every request: who is asking (certificate → kubegate's user record),
 * on which endpoint (their own filter chain), for what (Kubernetes request attributes parsed as
 * kube-apiserver parses them), and whether the policy in force allows it. Fail-closed at every
 * step: anything unknown, malformed or ambiguous is refused with a reason the user can act on.
 */
import type { AuthzRequest, Authorizer, Decision, Identity } from './decision';
import { CertificateIdentityReader } from './certificate-identity';
import { stripClusterPrefix } from '../kubernetes-api/cluster-prefix';
import { parseRequestAttributes, type RequestAttributes } from '../kubernetes-api/request-attributes';
import { RequestPathError } from '../kubernetes-api/request-target-check';
import type { AuthorizationView } from './authorization-view';
import type { AccessRequest, ClusterInfo, EngineDecision } from '../policy-engine/engine-contract';
import { decisionCacheKey } from '../policy-engine/decision-cache';
import { isSelfReviewRequest } from './self-review-requests';
import { USER_LABEL_PREFIX } from '../identity/user-identity';

/** Told about every allowed request, so open streams can be checked again when policy changes. */
export interface AllowedRequestObserver {
  allowed(request: AuthzRequest, decision: Extract<Decision, { allowed: true }>, attributes: RequestAttributes, now: number): unknown;
}

/** Caches engine decisions; see policy-engine/decision-cache.ts. */
export interface EngineDecisionCache {
  get(key: string, generation: number, now: number): EngineDecision | undefined;
  set(key: string, generation: number, decision: EngineDecision): void;
}

export interface PolicyAuthorizerProps {
  readonly view: () => AuthorizationView;
  /** Epoch ms; injected so tests decide what time it is. @default Date.now */
  readonly clock?: () => number;
  readonly cache?: EngineDecisionCache;
  readonly observer?: AllowedRequestObserver;
}

/**
 * Discovery, as Kubernetes' own system:discovery and system:public-info-viewer roles grant it
 * to every authenticated user: kubectl and helm read these before anything else and cannot
 * work without them, and they describe the API, not the cluster's objects. kubegate grants
 * them to whoever may use kubectl on the cluster at all, so policies need not repeat them.
 */
const DISCOVERY_PATHS = /^\/(api|apis|version|openapi|healthz|livez|readyz)(\/|$)/;
const DISCOVERY_VERBS = new Set(['get', 'head']);

/** A server name the edge's public listener sends to a user shard (translator/shard-listeners.ts). */
const USER_SHARD_NAME = new RegExp(`^${USER_LABEL_PREFIX}[0-9a-f]`);

export function isDiscoveryRequest(a: RequestAttributes): boolean {
  return !a.isResourceRequest && DISCOVERY_VERBS.has(a.verb) && DISCOVERY_PATHS.test(a.path);
}

/**
 * What every kubectl user may do on a cluster they can reach, whatever their policies say:
 * discovery, and asking about themselves (`kubectl auth can-i`, `kubectl auth whoami`), which
 * Kubernetes' system:basic-user role grants every authenticated user. The self reviews only
 * ever answer about the asking user (kubegate strips every Impersonate-* header), and their
 * answers are made truthful about kubegate's own rules on the way back (self-review/).
 */
export function isGrantedToEveryKubectlUser(a: RequestAttributes): boolean {
  return isDiscoveryRequest(a) || isSelfReviewRequest(a);
}

/**
 * The edge's verdict on `attributes` for `identity` on `cluster` at `now`: the policy engine's,
 * plus what every kubectl user is granted (above). One function for real requests and for the
 * questions `kubectl auth can-i` asks, so the two can never disagree.
 */
export function edgeVerdict(
  view: AuthorizationView,
  identity: Identity,
  cluster: ClusterInfo,
  attributes: RequestAttributes,
  now: number,
  cache?: EngineDecisionCache,
): EngineDecision {
  const request: AccessRequest = { subject: identity, cluster, channel: 'kubectl', attributes };
  const key = cache ? decisionCacheKey(request) : '';
  const hit = cache?.get(key, view.generation, now);
  if (hit) return hit;
  const context = view.evaluationContext(identity.user, now);
  let decision = view.engine.evaluate(request, context);
  if (!decision.allowed && isGrantedToEveryKubectlUser(attributes)) {
    const access = view.engine.clusterAccess(identity, request.cluster, context);
    if (access.mode === 'kubectl' && (!access.requiresActiveSession || context.lastConsoleActivity !== undefined)) {
      const what = isDiscoveryRequest(attributes) ? `discovery (${attributes.verb} ${attributes.path})` : `a self review (${attributes.verb} ${attributes.resource})`;
      decision = {
        allowed: true,
        policy: access.policies[0] ?? '',
        policyKind: 'AccessPolicy',
        reason: `${what} for a user with kubectl access to the cluster`,
        // The session requirement is checked loosely here (any activity), so such an
        // allowance is not cached: the next request decides again.
        validUntil: access.requiresActiveSession ? now : Math.min(decision.validUntil, access.validUntil),
      };
    }
  }
  cache?.set(key, view.generation, decision);
  return decision;
}

export class PolicyAuthorizer implements Authorizer {
  private readonly identities = new CertificateIdentityReader();
  private readonly clock: () => number;

  constructor(private readonly props: PolicyAuthorizerProps) {
    this.clock = props.clock ?? Date.now;
  }

  decide(request: AuthzRequest): Decision {
    const view = this.props.view();
    const cert = this.identities.read(request.peerCertificatePem);
    if (!cert) {
      return deny(401, 'kubegate: a client certificate issued by kubegate and naming a user is required', 'no-identity');
    }
    const record = view.user(cert.user);
    const anonymous: Identity = { user: cert.user, groups: [] };
    if (!record) {
      return deny(401, `kubegate: user "${cert.user}" is not known to kubegate; ask an administrator to create the user`, 'unknown-user', { identity: anonymous });
    }
    const identity: Identity = { user: record.name, groups: record.groups };
    if (record.disabled) {
      return deny(403, `kubegate: user "${record.name}" is disabled`, 'user-disabled', { identity });
    }
    if (view.isRevoked(cert.serial)) {
      return deny(401, 'kubegate: this client certificate was revoked; get a new kubeconfig with kubegate kubeconfig', 'certificate-revoked', { identity });
    }
    // A user's own server name selects their own filter chain (or the fallback one until the
    // edge has it). Any other name the edge sends to a user shard (one under the users' suffix,
    // or one that merely starts like a user's label, which lands on a shard's default chain) is
    // someone else's endpoint, where this user's streams could not be drained: refused. No
    // user's name at all (an address, the edge's own name) is the shared chain, which tools
    // that set the server URL themselves arrive on (translator/listener.ts), and which is
    // drained for this user when it must be; served by the certificate.
    const sharedEndpoint = request.serverName !== view.serverNameOf(record.name);
    if (sharedEndpoint && (request.serverName.endsWith(`.${view.userServerNameSuffix}`) || USER_SHARD_NAME.test(request.serverName))) {
      return deny(
        403,
        `kubegate: this connection uses another user's endpoint (tls-server-name ${request.serverName}), not user "${record.name}"'s; get a new kubeconfig with kubegate kubeconfig`,
        'wrong-server-name',
        { identity },
      );
    }

    let target: { cluster: string; rest: string } | null;
    let attributes: RequestAttributes;
    try {
      target = stripClusterPrefix(request.path);
      if (!target) {
        return deny(404, 'kubegate: no cluster in the request path; use a server URL of the form https://<edge>/clusters/<name>', 'no-cluster-in-path', { identity });
      }
      attributes = parseRequestAttributes(request.method, target.rest);
    } catch (err) {
      if (err instanceof RequestPathError) {
        return deny(400, `kubegate: refused a malformed request path: ${err.message}`, `bad-request-path:${err.reason}`, { identity });
      }
      throw err;
    }
    const cluster = view.cluster(target.cluster);
    if (!cluster) {
      return deny(404, `kubegate: no cluster "${target.cluster}"`, 'unknown-cluster', { identity, cluster: target.cluster });
    }

    const now = this.clock();
    const engineDecision = edgeVerdict(view, identity, cluster, attributes, now, this.props.cache);
    if (!engineDecision.allowed) {
      return deny(403, `kubegate: ${engineDecision.message}`, `${engineDecision.code}: ${engineDecision.reason}`, {
        identity,
        cluster: cluster.name,
        attributes,
        ...(engineDecision.policy ? { policy: engineDecision.policy } : {}),
      });
    }
    const decision: Extract<Decision, { allowed: true }> = {
      allowed: true,
      identity,
      cluster: cluster.name,
      reason: engineDecision.reason,
      attributes,
      policy: engineDecision.policy,
      validUntil: engineDecision.validUntil,
      ...(sharedEndpoint ? { sharedEndpoint: true } : {}),
      ...(engineDecision.breakGlassId ? { breakGlassId: engineDecision.breakGlassId } : {}),
    };
    this.props.observer?.allowed(request, decision, attributes, now);
    return decision;
  }
}

function deny(
  httpStatus: 400 | 401 | 403 | 404 | 503,
  message: string,
  reason: string,
  detail: { identity?: Identity; cluster?: string; attributes?: RequestAttributes; policy?: string } = {},
): Decision {
  return { allowed: false, httpStatus, message, reason, ...detail };
}
