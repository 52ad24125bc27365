/**
 * The chain that decides every request ext_authz is asked about, assembled in one place:
 * the policy authorizer over the access state; in front of it, for clusters behind agents,
 * the tunnel authorizer (a ServiceAccount per user, an identity assertion per request); in
 * front of everything, the auditing authorizer, which makes each decision durable before the
 * edge hears it.
 */
import type { Authorizer } from '../authz/decision';
import { PolicyAuthorizer, type AllowedRequestObserver } from '../authz/policy-authorizer';
import { DecisionCache } from '../policy-engine/decision-cache';
import type { AuthorizationView } from '../authz/authorization-view';
import { TunnelAuthorizer, type TunnelAuthorizerProps } from '../agent-gateway/tunnel-authorizer';
import type { AgentGateway } from '../agent-gateway/agent-gateway';
import { AuditingAuthorizer } from '../audit/auditing-authorizer';
import type { AuditEvent } from '../audit/audit-event';
import type { AuditTrail } from './audit-trail';
import type { Logger } from '../log/logger';

export interface AuthorizerChainProps {
  /** Replaces the policy authorizer (tests). @default a PolicyAuthorizer over `view` */
  readonly authorizer?: Authorizer;
  readonly view: () => AuthorizationView;
  /** Told of each allowed request, to track open streams. */
  readonly observer: AllowedRequestObserver;
  /** With agents: their clusters are decided by the tunnel authorizer too. */
  readonly agents?: {
    readonly gateway: AgentGateway;
    readonly isTunnelCluster: (name: string) => boolean;
    readonly rolesOf: TunnelAuthorizerProps['rolesOf'];
    readonly heardElsewhere?: TunnelAuthorizerProps['heardElsewhere'];
    readonly draining?: TunnelAuthorizerProps['draining'];
  };
  /** With an audit trail, every decision is written before it is answered. */
  readonly audit?: AuditTrail;
  readonly clock: () => number;
  readonly logger: Logger;
}

export function authorizerChain(props: AuthorizerChainProps): Authorizer {
  let authorizer = props.authorizer ?? new PolicyAuthorizer({ view: props.view, clock: props.clock, cache: new DecisionCache(), observer: props.observer });
  if (props.agents) {
    authorizer = new TunnelAuthorizer({
      inner: authorizer,
      hub: props.agents.gateway.hub,
      signer: props.agents.gateway.signer,
      isTunnelCluster: props.agents.isTunnelCluster,
      rolesOf: props.agents.rolesOf,
      ...(props.agents.heardElsewhere && { heardElsewhere: props.agents.heardElsewhere }),
      ...(props.agents.draining && { draining: props.agents.draining }),
      clock: props.clock,
    });
  }
  const audit = props.audit;
  if (audit) {
    const recent = audit.recentDecisions;
    authorizer = new AuditingAuthorizer({
      inner: authorizer,
      writer: audit.writer,
      clock: props.clock,
      logger: props.logger.child('audit'),
      ...(recent && { recorded: (event: AuditEvent) => recent.remember(event) }),
    });
  }
  return authorizer;
}
