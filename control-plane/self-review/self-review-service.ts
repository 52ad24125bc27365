/**
 * Envoy's external processing service (envoy.service.ext_proc.v3.ExternalProcessor) for the
 * self-review routes only (translator/routes.ts): `kubectl auth can-i` and `whoami` requests
 * go to the cluster as any request does, and their answers come back through here to be made
 * truthful about kubegate's own rules (review-answers.ts). One gRPC stream per HTTP request:
 *
 * 1. request headers: ask for JSON without compression, whatever the client asked for (client-go
 *    decodes JSON whatever it sent in Accept), so the answer can be read and rewritten;
 * 2. request body (small; buffered whole by Envoy, passed on unchanged): kept, because a
 *    SelfSubjectRulesReview's answer does not repeat the namespace it was asked about;
 * 3. response body (buffered whole by Envoy, which then drops content-length itself): the
 *    rewritten answer.
 *
 * Who asks comes from ext_authz's decision, which Envoy forwards as metadata; the edge's verdict
 * is decided again here, from the same view, by the same function that decides requests. If
 * either is missing, the answer is replaced by a refusal rather than passed on unchecked.
 */
import * as grpc from '@grpc/grpc-js';
import { grpcService } from '../proto/envoy-protos';
import { fromStruct, type StructValue } from '../proto/struct-value';
import type { Logger } from '../log/logger';
import type { AuthorizationView } from '../authz/authorization-view';
import { edgeVerdict, type EngineDecisionCache } from '../authz/policy-authorizer';
import { AUTHZ_METADATA_NAMESPACE } from '../authz/check-response';
import { kubernetesStatusBody } from '../kubernetes-api/status-body';
import { IMPLICIT_KUBECTL_RULES } from './implicit-rules';
import { rewriteReviewAnswer, type ReviewContext } from './review-answers';

export const SELF_REVIEW_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';

export interface SelfReviewServiceProps {
  readonly view: () => AuthorizationView;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly cache?: EngineDecisionCache;
}

/** What the edge's decision said about the request, from ext_authz's metadata. */
interface Asker {
  readonly user: string;
  readonly cluster: string;
}

type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The asking user and cluster, from a ProcessingRequest's metadata; undefined if absent. */
export function askerOf(message: Message): Asker | undefined {
  const struct = message.metadata_context?.filter_metadata?.[AUTHZ_METADATA_NAMESPACE] as StructValue | undefined;
  if (!struct) return undefined;
  const fields = fromStruct(struct) as Record<string, unknown>;
  const user = typeof fields.user === 'string' ? fields.user : '';
  const cluster = typeof fields.cluster === 'string' ? fields.cluster : '';
  return user && cluster && fields.decision === 'allow' ? { user, cluster } : undefined;
}

/**
 * The review context for `asker` from the current view, or a reason it cannot be had (the user
 * or cluster went away between the decision and the answer).
 */
export function reviewContext(asker: Asker, props: Pick<SelfReviewServiceProps, 'view' | 'clock' | 'cache'>): ReviewContext | string {
  const view = props.view();
  const record = view.user(asker.user);
  const cluster = view.cluster(asker.cluster);
  if (!record || record.disabled) return `user "${asker.user}" is no longer enabled`;
  if (!cluster) return `cluster "${asker.cluster}" is no longer registered`;
  const identity = { user: record.name, groups: record.groups };
  const now = props.clock();
  return {
    user: identity.user,
    groups: identity.groups,
    cluster: cluster.name,
    verdict: (attributes) => {
      const decision = edgeVerdict(view, identity, cluster, attributes, now, props.cache);
      // What allowed it (policy names) is for the audit trail, not for the answer.
      return decision.allowed ? { allowed: true, reason: "kubegate's policy allows it" } : { allowed: false, reason: `kubegate: ${decision.message}` };
    },
    rules: () => {
      const context = view.evaluationContext(identity.user, now);
      const engineRules = view.engine.kubectlRules(identity, cluster, context);
      // Discovery and the self reviews themselves: granted to everyone who got this far.
      return { unrestricted: engineRules.unrestricted, rules: [...engineRules.rules, ...IMPLICIT_KUBECTL_RULES] };
    },
  };
}

const refusal = (message: string) => ({
  immediate_response: {
    status: { code: 'ServiceUnavailable' },
    headers: { set_headers: [{ header: { key: 'content-type', raw_value: Buffer.from('application/json') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] },
    body: Buffer.from(kubernetesStatusBody(503, 'ServiceUnavailable', `kubegate: ${message}`)),
    details: 'kubegate_self_review_unchecked',
  },
});

/**
 * A refusal in answer to any message: an immediate response ends the exchange whatever phase it
 * comes in (Envoy accepts one in place of any phase's response).
 */
function refusalFor(_message: Message): object {
  return refusal("could not check this review against kubegate's policy; retry");
}

export function addSelfReviewService(server: grpc.Server, props: SelfReviewServiceProps): void {
  const service = grpcService(SELF_REVIEW_SERVICE).service;
  server.addService(service, {
    Process: (call: grpc.ServerDuplexStream<Message, object>) => {
      let asker: Asker | undefined;
      let question: Buffer = Buffer.alloc(0);
      call.on('data', (message: Message) => {
        try {
          respond(message);
        } catch (err) {
          // Never an uncaught exception in the process that decides every request: the answer
          // is refused, unchecked answers are never passed on.
          props.logger.error('could not answer a self review; refused', { error: (err as Error).message });
          call.write(message.request_headers ? refusal('could not check this review against kubegate\'s policy; retry') : refusalFor(message));
        }
      });
      const respond = (message: Message) => {
        asker ??= askerOf(message);
        if (message.request_headers) {
          call.write({
            request_headers: {
              response: {
                header_mutation: {
                  set_headers: [{ header: { key: 'accept', raw_value: Buffer.from('application/json') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
                  remove_headers: ['accept-encoding'],
                },
              },
            },
          });
        } else if (message.response_body) {
          call.write(answer(message.response_body.body as Buffer | undefined, question, asker, props));
        } else if (message.response_headers) {
          call.write({ response_headers: {} });
        } else if (message.request_body) {
          question = (message.request_body.body as Buffer | undefined) ?? Buffer.alloc(0);
          call.write({ request_body: {} });
        } else if (message.request_trailers) {
          call.write({ request_trailers: {} });
        } else if (message.response_trailers) {
          call.write({ response_trailers: {} });
        }
      };
      call.on('end', () => call.end());
      call.on('error', (err) => props.logger.debug('self-review stream ended with error', { error: err.message }));
    },
  });
}

function answer(body: Buffer | undefined, question: Buffer, asker: Asker | undefined, props: SelfReviewServiceProps): object {
  if (!asker) {
    props.logger.warn('a self review arrived without the edge decision that allowed it; refused');
    return refusal('could not check this review against kubegate\'s policy; retry');
  }
  const context = reviewContext(asker, props);
  if (typeof context === 'string') return refusal(`could not answer this review: ${context}`);
  const rewritten = rewriteReviewAnswer((body ?? Buffer.alloc(0)).toString('utf8'), context, question);
  if (rewritten === undefined) return { response_body: {} };
  return { response_body: { response: { body_mutation: { body: Buffer.from(rewritten) } } } };
}
