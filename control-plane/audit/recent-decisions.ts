/**
 * The allow decisions the control plane wrote a moment ago, kept in memory for what comes back
 * about them: the in-cluster Envoys report a request once it completes (usually within a
 * second of the decision), and their records copy the decision's attributes
 * (cluster-log-recorder.ts). Answering those lookups from memory keeps a read of the audit
 * database per forwarded request off the control plane, which also answers ext_authz. What is
 * not here (an older decision, a long stream's, a denial, or a restart since) is read from the
 * audit log as before.
 */
import type { AuditEvent } from './audit-event';
import type { AuditFilter, AuditPageRequest } from './audit-log';

/** What the cluster-log recorder reads decisions through: an AuditLog, or this cache over one. */
export interface DecisionSource {
  query(filter: AuditFilter, page?: AuditPageRequest): Promise<{ readonly events: readonly AuditEvent[] }>;
}

/** About ten seconds of decisions at a thousand a second, at roughly a kilobyte each. */
const DEFAULT_CAPACITY = 10_000;

export class RecentDecisions implements DecisionSource {
  /** By request id, oldest first (Map keeps insertion order), each request's allow decisions. */
  private readonly byRequest = new Map<string, AuditEvent[]>();
  private size = 0;

  constructor(
    private readonly fallback: DecisionSource,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {}

  /** A decision now durable in the audit log; only allows are kept (nothing else is forwarded). */
  remember(event: AuditEvent): void {
    if (event.stage !== 'decision' || event.decision !== 'allow' || event.requestId === '') return;
    const list = this.byRequest.get(event.requestId);
    if (list) list.push(event);
    else this.byRequest.set(event.requestId, [event]);
    this.size++;
    while (this.size > this.capacity) {
      const [oldest, events] = this.byRequest.entries().next().value as [string, AuditEvent[]];
      this.byRequest.delete(oldest);
      this.size -= events.length;
    }
  }

  async query(filter: AuditFilter, page?: AuditPageRequest): Promise<{ readonly events: readonly AuditEvent[] }> {
    const onlyDecisionsOf = filter.requestId !== undefined && filter.stage === 'decision' && Object.keys(filter).length === 2;
    const known = onlyDecisionsOf ? this.byRequest.get(filter.requestId!) : undefined;
    if (known) return { events: [...known].reverse().slice(0, page?.limit ?? known.length) };
    return this.fallback.query(filter, page);
  }
}
