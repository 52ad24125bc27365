/**
 * What every ADS stream does whichever variant of the protocol it speaks (state of the world or
 * delta): learn the node from the first request and check that this peer may read that node's
 * configuration, watch the node's snapshots, and report its life to the cache and the log.
 * The variants differ only in how they answer requests and snapshots (sotw-stream.ts,
 * delta-stream.ts).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/logger';
import { fromStruct } from '../proto/struct-value';
import type { AdsVariant, SnapshotCache } from './snapshot-cache';
import { resourceTypeByUrl, type ResourceType } from './resource-types';

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

/** Any bidirectional ADS call: the peer checks need only what both variants have. */
export type AdsCall = grpc.ServerDuplexStream<object, object>;

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

/** What both variants' requests carry in the same fields. */
export interface AdsRequestCommon {
  node?: AdsNode;
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string };
}

export interface AdsStreamContext {
  readonly cache: SnapshotCache;
  readonly log: Logger;
  /** One counter per server, so a nonce in a log line points at one response. */
  readonly nextNonce: () => string;
  readonly options: AdsServiceOptions;
}

export abstract class AdsStream<Request extends AdsRequestCommon, Response extends object> {
  protected nodeId?: string;
  protected closed = false;
  private unwatch?: () => void;
  private readonly openedAt = Date.now();

  constructor(
    protected readonly call: grpc.ServerDuplexStream<Request, Response>,
    protected readonly id: number,
    protected readonly context: AdsStreamContext,
    /** For the log and the cache's per-node status. */
    private readonly variant: AdsVariant,
  ) {}

  protected get cache(): SnapshotCache {
    return this.context.cache;
  }

  protected get log(): Logger {
    return this.context.log;
  }

  start(): void {
    this.call.on('data', (request: Request) => {
      try {
        if (this.closed) return;
        if (this.nodeId === undefined && !this.identify(request)) return;
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

  /** The type a request names, or undefined (logged) for one kubegate does not serve: ignored. */
  protected requestedType(request: Request): ResourceType | undefined {
    const typeUrl = request.type_url ?? '';
    const type = resourceTypeByUrl(typeUrl);
    if (!type) this.log.warn('request for a resource type kubegate does not serve; ignored', { stream: this.id, node: this.nodeId, type_url: typeUrl });
    return type;
  }

  /** A request on an identified stream. */
  protected abstract onRequest(request: Request): void;

  /** The node has a new snapshot. */
  protected abstract onSnapshot(): void;

  /** The first request names the node; every snapshot and record is keyed by that id. */
  private identify(request: Request): boolean {
    const nodeId = request.node?.id;
    if (!nodeId) {
      this.log.warn('ADS stream rejected: the first request has no node.id', { stream: this.id, peer: this.call.getPeer() });
      this.fail(grpc.status.INVALID_ARGUMENT, 'the first DiscoveryRequest on a stream must carry node.id');
      return false;
    }
    const refusal = this.context.options.authorizeNode?.(request.node!, this.call as unknown as AdsCall);
    if (refusal !== undefined) {
      this.log.warn('ADS stream refused for this peer', { stream: this.id, node: nodeId, peer: this.call.getPeer(), reason: refusal });
      this.fail(grpc.status.PERMISSION_DENIED, refusal);
      return false;
    }
    this.nodeId = nodeId;
    this.context.options.onNode?.(request.node!);
    this.cache.streamOpened(nodeId, this.variant);
    this.unwatch = this.cache.watch(nodeId, () => this.onSnapshot());
    this.log.info('ADS stream opened', {
      stream: this.id,
      node: nodeId,
      protocol: this.variant,
      envoy_cluster: request.node?.cluster,
      user_agent: [request.node?.user_agent_name, request.node?.user_agent_version].filter(Boolean).join('/') || undefined,
      peer: this.call.getPeer(),
      peer_certificate: peerCommonName(this.call),
    });
    return true;
  }

  protected fail(code: grpc.status, details: string): void {
    if (this.closed) return;
    this.close(details);
    this.call.emit('error', { code, details });
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    if (this.nodeId !== undefined) {
      this.cache.streamClosed(this.nodeId, this.variant);
      this.log.info('ADS stream closed', { stream: this.id, node: this.nodeId, protocol: this.variant, reason, duration_s: Math.round((Date.now() - this.openedAt) / 1000) });
    }
  }
}

function peerCommonName(call: grpc.ServerDuplexStream<unknown, unknown>): string | undefined {
  try {
    const cn = call.getAuthContext?.().sslPeerCertificate?.subject?.CN;
    return Array.isArray(cn) ? cn.join(',') : cn;
  } catch {
    return undefined;
  }
}
