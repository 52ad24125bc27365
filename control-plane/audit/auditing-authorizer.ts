/**
 * No audit record, no access. Wraps whatever decides: every decision, allow or deny, is written
 * to the audit trail before the edge hears it, and an allow whose record could not be written
 * becomes a refusal (503) that says why. Denials whose record fails are still denials.
 */
import type { AuthzRequest, Authorizer, Decision } from '../authz/decision';
import type { Logger } from '../log/logger';
import type { AuditWriter } from './audit-writer';
import { decisionEvent } from './decision-event';
import type { AuditEvent } from './audit-event';

export const AUDIT_UNAVAILABLE_MESSAGE = 'kubegate: the audit trail cannot record this request right now, so it is refused (no audit record, no access); try again shortly';

export interface AuditingAuthorizerProps {
  readonly inner: Authorizer;
  readonly writer: AuditWriter;
  readonly clock: () => number;
  readonly logger: Logger;
  /** Told of each decision record once it is durable (RecentDecisions). @default nobody */
  readonly recorded?: (event: AuditEvent) => void;
}

export class AuditingAuthorizer implements Authorizer {
  constructor(private readonly props: AuditingAuthorizerProps) {}

  async decide(request: AuthzRequest): Promise<Decision> {
    const decision = await this.props.inner.decide(request);
    try {
      const event = decisionEvent(request, decision, this.props.clock());
      await this.props.writer.record(event);
      this.props.recorded?.(event);
      return decision;
    } catch (err) {
      this.props.logger.error('audit record not written; request refused', { requestId: request.requestId, user: decision.identity?.user, error: (err as Error).message });
      if (!decision.allowed) return decision;
      const { upstreamAssertion: _dropped, ...rest } = decision;
      void _dropped;
      return { ...rest, allowed: false, httpStatus: 503, message: AUDIT_UNAVAILABLE_MESSAGE, reason: `audit write failed: ${(err as Error).message}` };
    }
  }
}
