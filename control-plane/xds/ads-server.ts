/**
 * The Aggregated Discovery Service, state-of-the-world variant: one gRPC stream per Envoy that
 * carries every resource type, modelled on go-control-plane's SotW server.
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
import * as grpc from '@grpc/grpc-js';
import { grpcService } from '../proto/envoy-protos';
import type { Logger } from '../log/logger';
import { RESOURCE_TYPES, resourceTypeByUrl, type ResourceType, type TypeUrl } from './resource-types';
import type { SnapshotCache } from './snapshot-cache';
import { fromStruct } from '../proto/struct-value';

/** The node a stream's first request names, as grpc-js decodes it. */
export interface AdsNode {
  id?: string;
  cluster?: string;
  user_agent_name?: string;
  user_agent_version?: string;
  /** google.protobuf.Struct in protobufjs's camelCase form (see proto/struct-value.ts). */
  metadata?: { fields?: Record<string, unknown> };
}

/** A string value of the node's metadata, or undefined. */
export function nodeMetadataString(node: AdsNode, key: string): string | undefined {
  const value = fromStruct(node.metadata)[key];
  return typeof value === 'string' ? value : undefined;
}

export interface AdsServiceOptions {
  /**
   * Decides whether the verified peer of a stream may receive the named node's configuration;
   * returns a refusal message, or undefined to allow. Called once per stream, before anything
   * is sent. The agent port uses it so a cluster's Envoy can only ever read its own snapshot.
   */
  readonly authorizeNode?: (node: AdsNode, call: AdsCall) => string | undefined;
  /** Called when a stream has identified (and been allowed as) a node. */
  readonly onNode?: (node: AdsNode) => void;
}

/** DiscoveryRequest as grpc-js decodes it (keepCase, defaults off: absent fields are undefined). */
interface DiscoveryRequestWire {
  version_info?: string;
  node?: AdsNode;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string };
}

interface DiscoveryResponseWire {
  version_info: string;
  resources: Array<{ type_url: string; value: Buffer }>;
  type_url: string;
  nonce: string;
}

export type AdsCall = grpc.ServerDuplexStream<DiscoveryRequestWire, DiscoveryResponseWire>;

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

/** Registers envoy.service.discovery.v3.AggregatedDiscoveryService on the server. */
export function addAdsService(server: grpc.Server, cache: SnapshotCache, logger: Logger, options: AdsServiceOptions = {}): void {
  const service = grpcService('envoy.service.discovery.v3.AggregatedDiscoveryService').service;
  // One counter for every stream of this server, so a nonce in a log line points at one response.
  let nonceCounter = 0;
  let streamCounter = 0;
  const nextNonce = () => String(++nonceCounter);
  server.addService(service, {
    StreamAggregatedResources: (call: AdsCall) => {
      new AdsStream(call, ++streamCounter, cache, logger, nextNonce, options).start();
    },
    DeltaAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      logger.warn('incremental (delta) xDS requested; only state-of-the-world ADS is served', { peer: call.getPeer() });
      call.emit('error', {
        code: grpc.status.UNIMPLEMENTED,
        details: 'kubegate serves state-of-the-world ADS only (StreamAggregatedResources); configure Envoy with api_type GRPC, not DELTA_GRPC',
      });
    },
  });
}

class AdsStream {
  private nodeId?: string;
  private readonly types = new Map<TypeUrl, TypeState>();
  private unwatch?: () => void;
  private closed = false;
  private readonly openedAt = Date.now();

  constructor(
    private readonly call: AdsCall,
    private readonly id: number,
    private readonly cache: SnapshotCache,
    private readonly log: Logger,
    private readonly nextNonce: () => string,
    private readonly options: AdsServiceOptions,
  ) {}

  start(): void {
    this.call.on('data', (request: DiscoveryRequestWire) => {
      try {
        this.onRequest(request);
      } catch (err) {
        // A bug here must not take the process down; the stream is ended and Envoy reconnects.
        this.log.error('ADS request handling failed', { stream: this.id, node: this.nodeId, error: err as Error });
        this.fail(grpc.status.INTERNAL, `kubegate could not handle the request: ${(err as Error).message}`);
      }
    });
    this.call.on('end', () => {
      // Envoy half-closed: finish our side too, which completes the call with OK.
      this.close('client ended the stream');
      this.call.end();
    });
    this.call.on('cancelled', () => this.close('cancelled by the client'));
    this.call.on('error', (err: Error) => this.close(`error: ${err.message}`));
    this.call.on('close', () => this.close('stream closed'));
  }

  private onRequest(request: DiscoveryRequestWire): void {
    if (this.closed) return;
    if (this.nodeId === undefined && !this.identify(request)) return;
    const nodeId = this.nodeId!;

    const typeUrl = request.type_url ?? '';
    const type = resourceTypeByUrl(typeUrl);
    if (!type) {
      this.log.warn('request for a resource type kubegate does not serve; ignored', { stream: this.id, node: nodeId, type_url: typeUrl });
      return;
    }
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

  /** The first request names the node; every snapshot and record is keyed by that id. */
  private identify(request: DiscoveryRequestWire): boolean {
    const nodeId = request.node?.id;
    if (!nodeId) {
      this.log.warn('ADS stream rejected: the first request has no node.id', { stream: this.id, peer: this.call.getPeer() });
      this.fail(grpc.status.INVALID_ARGUMENT, 'the first DiscoveryRequest on a stream must carry node.id');
      return false;
    }
    const refusal = this.options.authorizeNode?.(request.node!, this.call);
    if (refusal !== undefined) {
      this.log.warn('ADS stream refused for this peer', { stream: this.id, node: nodeId, peer: this.call.getPeer(), reason: refusal });
      this.fail(grpc.status.PERMISSION_DENIED, refusal);
      return false;
    }
    this.nodeId = nodeId;
    this.options.onNode?.(request.node!);
    this.cache.streamOpened(nodeId);
    this.unwatch = this.cache.watch(nodeId, () => this.onSnapshot());
    this.log.info('ADS stream opened', {
      stream: this.id,
      node: nodeId,
      envoy_cluster: request.node?.cluster,
      user_agent: [request.node?.user_agent_name, request.node?.user_agent_version].filter(Boolean).join('/') || undefined,
      peer: this.call.getPeer(),
      peer_certificate: peerCommonName(this.call),
    });
    return true;
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
  private onSnapshot(): void {
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
    const nonce = this.nextNonce();
    const resources = snapshot.encodedResources(type.typeUrl, subscription.wildcard ? undefined : subscription.names);
    state.sent = { version, nonce, subscriptionKey: subscription.key, answered: false };
    state.pending = false;
    this.cache.recordSent(nodeId, type.typeUrl, version);
    this.log.debug('response sent', { stream: this.id, node: nodeId, type: type.shortName, version, nonce, resources: resources.length });
    this.call.write({ version_info: version, resources: resources.map((r) => ({ type_url: r.type_url, value: r.value })), type_url: type.typeUrl, nonce });
  }

  private fail(code: grpc.status, details: string): void {
    if (this.closed) return;
    this.close(details);
    this.call.emit('error', { code, details });
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    if (this.nodeId !== undefined) {
      this.cache.streamClosed(this.nodeId);
      this.log.info('ADS stream closed', { stream: this.id, node: this.nodeId, reason, duration_s: Math.round((Date.now() - this.openedAt) / 1000) });
    }
  }
}

function subscriptionOf(type: ResourceType, requested: readonly string[]): Subscription {
  if (type.wildcard && (requested.length === 0 || requested.includes('*'))) return { wildcard: true, names: [], key: '*' };
  const names = [...new Set(requested)].sort();
  return { wildcard: false, names, key: JSON.stringify(names) };
}

function peerCommonName(call: AdsCall): string | undefined {
  try {
    const cn = call.getAuthContext?.().sslPeerCertificate?.subject?.CN;
    return Array.isArray(cn) ? cn.join(',') : cn;
  } catch {
    return undefined;
  }
}
