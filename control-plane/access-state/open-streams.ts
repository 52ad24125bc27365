/**
 * Requests that stay open (watches, exec, attach, port-forward, logs -f, proxy) were allowed
 * once, when they started. When policy, group membership, a grant or a time window changes,
 * each is decided again as if it arrived now; the users whose streams would no longer be
 * allowed are returned, and the control plane changes their filter chain so Envoy closes
 * exactly their connections (and the shared users' chain's, if one of their streams is there).
 * Streams are forgotten when their access-log record arrives.
 */
import type { AuthzRequest, Decision } from '../authz/decision';
import type { AllowedRequestObserver } from '../authz/policy-authorizer';
import type { RequestAttributes } from '../kubernetes-api/request-attributes';
import type { AuthorizationView } from '../authz/authorization-view';

interface OpenStream {
  readonly user: string;
  readonly cluster: string;
  readonly attributes: RequestAttributes;
  readonly since: number;
  /** On the edge's shared users' chain rather than the user's own (Decision.sharedEndpoint). */
  readonly shared: boolean;
}

const LONG_LIVED_POD_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'log', 'proxy']);

/** Whether a request may stay open long enough that a later policy change must reach it. */
export function isLongLived(a: RequestAttributes): boolean {
  if (a.verb === 'watch' || a.verb === 'proxy') return true;
  if (a.subresource === 'proxy') return true;
  return a.resource === 'pods' && LONG_LIVED_POD_SUBRESOURCES.has(a.subresource);
}

export interface OpenStreamsProps {
  /** More than this many tracked streams and the oldest are forgotten. @default 200000 */
  readonly maxStreams?: number;
  /**
   * Streams older than this are forgotten (the edge's maximum stream duration ends them).
   * @default 4 h
   */
  readonly maxAgeMs?: number;
  /**
   * Called each time a stream is forgotten to make room (more than maxStreams open), with the
   * total so far: that stream's connection no longer closes when its user loses access (the
   * edge's maximum stream duration still ends it), so the owner must say so. @default none
   */
  readonly evicted?: (total: number) => void;
}

export class OpenStreams implements AllowedRequestObserver {
  private readonly streams = new Map<string, OpenStream>();
  private readonly maxStreams: number;
  private readonly maxAgeMs: number;
  private evictedTotal = 0;

  constructor(private readonly props: OpenStreamsProps = {}) {
    this.maxStreams = props.maxStreams ?? 200_000;
    this.maxAgeMs = props.maxAgeMs ?? 4 * 3_600_000;
  }

  /** Streams forgotten to make room since the start (kubegate_open_streams_evicted_total). */
  get evicted(): number {
    return this.evictedTotal;
  }

  get size(): number {
    return this.streams.size;
  }

  /** Remembers the request if it may stay open; says whether it did. */
  allowed(request: AuthzRequest, decision: Extract<Decision, { allowed: true }>, attributes: RequestAttributes, now: number): boolean {
    if (!request.requestId || !isLongLived(attributes)) return false;
    if (this.streams.size >= this.maxStreams && !this.streams.has(request.requestId)) {
      this.streams.delete(this.streams.keys().next().value as string);
      this.evictedTotal++;
      this.props.evicted?.(this.evictedTotal);
    }
    this.streams.set(request.requestId, { user: decision.identity.user, cluster: decision.cluster, attributes, since: now, shared: decision.sharedEndpoint === true });
    return true;
  }

  /** The request finished (its access-log record arrived). */
  ended(requestId: string): void {
    this.streams.delete(requestId);
  }

  /** Whether any of these users has a stream open on the edge's shared users' chain. */
  onSharedChain(users: Iterable<string>): boolean {
    const wanted = new Set(users);
    if (wanted.size === 0) return false;
    for (const s of this.streams.values()) if (s.shared && wanted.has(s.user)) return true;
    return false;
  }

  /** Forgets the streams of a user whose connections are being closed anyway. */
  forgetUser(user: string): void {
    for (const [id, s] of this.streams) if (s.user === user) this.streams.delete(id);
  }

  /**
   * Decides every open stream again. Returns the users with a stream that is no longer
   * allowed (their streams are forgotten: their connections are about to be closed), and the
   * earliest time at which a still-allowed stream's decision could change.
   */
  revalidate(view: AuthorizationView, now: number): { usersToDrain: Set<string>; drainSharedChain: boolean; nextCheckAt: number } {
    const usersToDrain = new Set<string>();
    let nextCheckAt = Number.MAX_SAFE_INTEGER;
    for (const [id, s] of this.streams) {
      if (now - s.since > this.maxAgeMs) {
        this.streams.delete(id);
        continue;
      }
      if (usersToDrain.has(s.user)) continue;
      const user = view.user(s.user);
      const cluster = view.cluster(s.cluster);
      if (!user || user.disabled || !cluster) {
        usersToDrain.add(s.user);
        continue;
      }
      const decision = view.engine.evaluate(
        { subject: { user: user.name, groups: user.groups }, cluster, channel: 'kubectl', attributes: s.attributes },
        view.evaluationContext(user.name, now),
      );
      if (!decision.allowed) usersToDrain.add(s.user);
      else nextCheckAt = Math.min(nextCheckAt, decision.validUntil);
    }
    const drainSharedChain = this.onSharedChain(usersToDrain);
    for (const user of usersToDrain) this.forgetUser(user);
    return { usersToDrain, drainSharedChain, nextCheckAt };
  }
}
