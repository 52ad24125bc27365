/**
 * The state-of-the-world variant of ADS (StreamAggregatedResources), modelled on
 * go-control-plane's SotW server.
 *
 * The protocol, per stream and type URL:
 * - Envoy sends a request; the server answers it at most once (the request is a "watch"), with
 *   that type's version, a fresh nonce and the resources. The next response for the type waits
 *   for Envoy's next request, which ACKs or NACKs the previous one (it echoes the nonce).
 * - A request whose response_nonce is not the latest nonce sent for its type was written
 *   before Envoy saw that response; it is stale and ignored (Envoy follows up).
 * - A request carrying error_detail is a NACK. Unlike go-control-plane, which answers the NACK
 *   with the same rejected configuration (and so loops as fast as Envoy can reject it), the
 *   rejected version is held back: never sent again to that node, on this stream or the next,
 *   until the snapshot's version for the type changes.
 * - LDS and CDS are wildcard (an empty name list means everything); RDS, EDS and SDS send only
 *   the requested names, and a change of names is answered even when the version is unchanged.
 */
import { AdsStream, type AdsRequestCommon } from './ads-stream';
import { RESOURCE_TYPES, type ResourceType, type TypeUrl } from './resource-types';

/** DiscoveryRequest as grpc-js decodes it (keepCase, defaults off: absent fields are undefined). */
export interface DiscoveryRequestWire extends AdsRequestCommon {
  version_info?: string;
  resource_names?: string[];
}

export interface DiscoveryResponseWire {
  version_info: string;
  resources: Array<{ type_url: string; value: Buffer }>;
  type_url: string;
  nonce: string;
}

/** What a stream asked for of one type. */
interface Subscription {
  /** All resources of the type (LDS/CDS with no names, or "*"). */
  readonly wildcard: boolean;
  /** Sorted, without duplicates; empty when wildcard. */
  readonly names: readonly string[];
  /** Compares two subscriptions. */
  readonly key: string;
}

interface SentResponse {
  readonly version: string;
  readonly nonce: string;
  readonly subscriptionKey: string;
  /** Envoy's first request with this nonce ACKs or NACKs it; later ones only change names. */
  answered: boolean;
}

interface TypeState {
  readonly type: ResourceType;
  subscription: Subscription;
  /** An unanswered request is open: the next change for this type may be sent. */
  pending: boolean;
  sent?: SentResponse;
}

export class SotwStream extends AdsStream<DiscoveryRequestWire, DiscoveryResponseWire> {
  private readonly types = new Map<TypeUrl, TypeState>();

  protected onRequest(request: DiscoveryRequestWire): void {
    const nodeId = this.nodeId!;
    const type = this.requestedType(request);
    if (!type) return;
    const nonce = request.response_nonce ?? '';
    let state = this.types.get(type.typeUrl);
    if (state?.sent && nonce !== state.sent.nonce) {
      // Written before Envoy received our latest response; its follow-up will carry that nonce.
      this.log.debug('stale request ignored', { stream: this.id, node: nodeId, type: type.shortName, nonce, latest_nonce: state.sent.nonce });
      return;
    }
    if (state?.sent && !state.sent.answered) {
      state.sent.answered = true;
      if (request.error_detail) this.onNack(state, request);
      else this.onAck(state);
    }
    const subscription = subscriptionOf(type, request.resource_names ?? []);
    if (!state) {
      state = { type, subscription, pending: true };
      this.types.set(type.typeUrl, state);
    } else {
      state.subscription = subscription;
      state.pending = true;
    }
    this.respondIfReady(state);
  }

  private onAck(state: TypeState): void {
    const sent = state.sent!;
    this.cache.recordAck(this.nodeId!, state.type.typeUrl, sent.version);
    this.log.debug('ACK', { stream: this.id, node: this.nodeId, type: state.type.shortName, version: sent.version, nonce: sent.nonce });
  }

  private onNack(state: TypeState, request: DiscoveryRequestWire): void {
    const sent = state.sent!;
    const message = request.error_detail?.message ?? '';
    this.cache.recordNack(this.nodeId!, state.type.typeUrl, { version: sent.version, nonce: sent.nonce, message, time: new Date().toISOString() });
    this.log.warn('Envoy rejected configuration (NACK); holding it back until the configuration changes', {
      stream: this.id,
      node: this.nodeId,
      type: state.type.shortName,
      version: sent.version,
      nonce: sent.nonce,
      accepted_version: request.version_info ?? '',
      error: message,
      error_code: request.error_detail?.code,
    });
  }

  /** A new snapshot: answer every open request whose type it changed, in push order. */
  protected onSnapshot(): void {
    for (const type of RESOURCE_TYPES) {
      const state = this.types.get(type.typeUrl);
      if (state) this.respondIfReady(state);
    }
  }

  private respondIfReady(state: TypeState): void {
    if (this.closed || !state.pending) return;
    const nodeId = this.nodeId!;
    const snapshot = this.cache.getSnapshot(nodeId);
    if (!snapshot) {
      this.log.debug('no snapshot for node yet; request stays open', { stream: this.id, node: nodeId, type: state.type.shortName });
      return;
    }
    const { type, subscription } = state;
    const version = snapshot.version(type.typeUrl);
    // Nothing new: the request stays open until the version or the subscription changes. A
    // stream's first request is always answered, whatever version_info Envoy says it has.
    if (state.sent && state.sent.version === version && state.sent.subscriptionKey === subscription.key) return;
    if (this.cache.isRejected(nodeId, type.typeUrl, version)) {
      this.log.debug('holding back a version this node rejected', { stream: this.id, node: nodeId, type: type.shortName, version });
      return;
    }
    const nonce = this.context.nextNonce();
    const resources = snapshot.encodedResources(type.typeUrl, subscription.wildcard ? undefined : subscription.names);
    state.sent = { version, nonce, subscriptionKey: subscription.key, answered: false };
    state.pending = false;
    this.cache.recordSent(nodeId, type.typeUrl, version, resources.length);
    this.log.debug('response sent', { stream: this.id, node: nodeId, type: type.shortName, version, nonce, resources: resources.length });
    this.call.write({ version_info: version, resources: resources.map((r) => ({ type_url: r.type_url, value: r.value })), type_url: type.typeUrl, nonce });
  }
}

function subscriptionOf(type: ResourceType, requested: readonly string[]): Subscription {
  if (type.wildcard && (requested.length === 0 || requested.includes('*'))) return { wildcard: true, names: [], key: '*' };
  const names = [...new Set(requested)].sort();
  return { wildcard: false, names, key: JSON.stringify(names) };
}
