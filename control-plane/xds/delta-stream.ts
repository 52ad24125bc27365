/**
 * The delta (incremental) variant of ADS (DeltaAggregatedResources).
 *
 * Why it exists: with state of the world, every change of one listener sends every listener of
 * the type, and Envoy decodes and compares all of them. At ten thousand users spread over
 * sixteen shard listeners, a revocation changes one shard, yet state of the world makes Envoy
 * take in all seventeen listeners and every filter chain in them. Delta sends the one listener
 * that changed, and a reconnecting Envoy (a control-plane restart) tells the server what it has,
 * so nothing it already runs is sent again.
 *
 * The protocol, per stream and type URL:
 * - Requests change the subscription (resource_names_subscribe / _unsubscribe; for LDS and CDS a
 *   first request naming nothing, or "*", subscribes to everything) and ACK or NACK the latest
 *   response by its nonce. Subscription changes count in every request, stale nonce or not:
 *   unlike state of the world, a delta request is not repeated in full later.
 * - The server tracks what Envoy has (name -> version, versions being content hashes) and sends
 *   what differs: changed or new resources, and the names of those Envoy has that are gone. The
 *   first request of a type on a stream may say what Envoy already has
 *   (initial_resource_versions), so a reconnect costs nothing when nothing changed.
 * - One response per type is in flight at a time; the next waits for Envoy's answer, so a burst
 *   of snapshots becomes one response with the net difference.
 * - The first request of a type is always answered, even with nothing to send: Envoy waits for
 *   a first response of LDS and CDS before it starts serving.
 * - NACKs, doing better than answering a rejection with the same resources in a loop: a
 *   rejected response with one resource marks that resource's version rejected for the node
 *   (never sent to it again, on this stream or the next, until its content changes); a rejected
 *   response with several resources has them sent again one per response, so that the next
 *   rejection names exactly the resource at fault and the good ones go through.
 */
import { AdsStream, type AdsRequestCommon } from './ads-stream';
import { RESOURCE_TYPES, type ResourceType, type TypeUrl } from './resource-types';
import type { Snapshot } from './snapshot';

/** DeltaDiscoveryRequest as grpc-js decodes it (keepCase, defaults off). */
export interface DeltaDiscoveryRequestWire extends AdsRequestCommon {
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
}

export interface DeltaResourceWire {
  name: string;
  version: string;
  resource: { type_url: string; value: Buffer };
}

export interface DeltaDiscoveryResponseWire {
  system_version_info: string;
  resources: DeltaResourceWire[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

const WILDCARD = '*';

/**
 * Appended to system_version_info when a response leaves something of the snapshot unsent
 * (a resource held back or still to be isolated): Envoy does not run the snapshot's version
 * then, and nothing waiting for that version may take the ACK for it.
 */
export const PARTIAL_VERSION_SUFFIX = '-partial';

interface InFlight {
  readonly nonce: string;
  readonly version: string;
  /** Sent resources: name -> version. */
  readonly resources: ReadonlyMap<string, string>;
  readonly removed: readonly string[];
}

interface DeltaTypeState {
  readonly type: ResourceType;
  /** Every resource of the type (LDS/CDS only). */
  wildcard: boolean;
  /** Names subscribed one by one. */
  readonly subscribed: Set<string>;
  /** What Envoy has, as far as its answers tell: name -> version. */
  readonly known: Map<string, string>;
  /** Names to send one per response, after a rejection of a response that held several. */
  readonly isolate: Set<string>;
  /** Nothing has been sent for this type on this stream yet. */
  firstResponseDue: boolean;
  inFlight?: InFlight;
}

export class DeltaStream extends AdsStream<DeltaDiscoveryRequestWire, DeltaDiscoveryResponseWire> {
  private readonly types = new Map<TypeUrl, DeltaTypeState>();

  protected onRequest(request: DeltaDiscoveryRequestWire): void {
    const nodeId = this.nodeId!;
    const type = this.requestedType(request);
    if (!type) return;
    const subscribe = request.resource_names_subscribe ?? [];
    const unsubscribe = request.resource_names_unsubscribe ?? [];
    let state = this.types.get(type.typeUrl);
    const first = state === undefined;
    if (!state) {
      state = {
        type,
        // A first request naming nothing is the legacy way of asking for everything.
        wildcard: type.wildcard && subscribe.length === 0,
        subscribed: new Set(),
        known: new Map(Object.entries(request.initial_resource_versions ?? {})),
        isolate: new Set(),
        firstResponseDue: true,
      };
      this.types.set(type.typeUrl, state);
    }

    const nonce = request.response_nonce ?? '';
    if (nonce !== '') {
      if (state.inFlight?.nonce === nonce) {
        if (request.error_detail) this.onNack(state, request);
        else this.onAck(state);
      } else {
        this.log.debug('answer to a response that is not the latest; only its subscription changes count', { stream: this.id, node: nodeId, type: type.shortName, nonce, latest_nonce: state.inFlight?.nonce });
      }
    }
    this.applySubscription(state, subscribe, unsubscribe, first);
    this.respondIfReady(state);
  }

  /**
   * @param first the stream's first request of the type: its names come with what Envoy has of
   * them (initial_resource_versions), which stands; later subscriptions ask for a resource anew.
   */
  private applySubscription(state: DeltaTypeState, subscribe: readonly string[], unsubscribe: readonly string[], first: boolean): void {
    for (const name of subscribe) {
      if (name === WILDCARD) {
        if (state.type.wildcard) state.wildcard = true;
        else this.log.warn('wildcard subscription to a type served by name only; ignored', { stream: this.id, node: this.nodeId, type: state.type.shortName });
        continue;
      }
      state.subscribed.add(name);
      // Asking for a resource later means Envoy wants it sent, whatever it may have had before.
      if (!state.wildcard && !first) state.known.delete(name);
    }
    for (const name of unsubscribe) {
      if (name === WILDCARD) {
        state.wildcard = false;
        continue;
      }
      state.subscribed.delete(name);
      // Envoy drops what it unsubscribed from; under a wildcard it keeps receiving it.
      if (!state.wildcard) {
        state.known.delete(name);
        state.isolate.delete(name);
      }
    }
    if (!state.wildcard) {
      // Unsubscribed from everything: keep track only of what is still subscribed by name.
      for (const name of [...state.known.keys()]) if (!state.subscribed.has(name)) state.known.delete(name);
    }
  }

  private onAck(state: DeltaTypeState): void {
    const sent = state.inFlight!;
    state.inFlight = undefined;
    for (const [name, version] of sent.resources) {
      state.known.set(name, version);
      state.isolate.delete(name);
    }
    for (const name of sent.removed) state.known.delete(name);
    this.cache.recordAck(this.nodeId!, state.type.typeUrl, sent.version);
    this.log.debug('ACK', { stream: this.id, node: this.nodeId, type: state.type.shortName, version: sent.version, nonce: sent.nonce });
  }

  private onNack(state: DeltaTypeState, request: DeltaDiscoveryRequestWire): void {
    const sent = state.inFlight!;
    state.inFlight = undefined;
    const message = request.error_detail?.message ?? '';
    const nodeId = this.nodeId!;
    this.cache.recordNack(nodeId, state.type.typeUrl, { version: sent.version, nonce: sent.nonce, message, time: new Date().toISOString() });
    const names = [...sent.resources.keys()];
    if (names.length === 1) {
      const [name, version] = [...sent.resources][0]!;
      this.cache.recordRejectedResource(nodeId, state.type.typeUrl, name, version);
      state.isolate.delete(name);
    } else {
      for (const name of names) state.isolate.add(name);
    }
    // What Envoy has of those resources is unknown now; state.known keeps the last accepted
    // versions, so whatever differs is sent again (alone, if it came in a rejected batch).
    this.log.warn(
      names.length === 1
        ? 'Envoy rejected a resource (NACK); holding this version of it back until its content changes'
        : 'Envoy rejected a response (NACK); sending its resources one at a time to find the one at fault',
      { stream: this.id, node: nodeId, type: state.type.shortName, version: sent.version, nonce: sent.nonce, resources: names, error: message, error_code: request.error_detail?.code },
    );
  }

  /** A new snapshot: send each type's difference, in push order. */
  protected onSnapshot(): void {
    for (const type of RESOURCE_TYPES) {
      const state = this.types.get(type.typeUrl);
      if (state) this.respondIfReady(state);
    }
  }

  private respondIfReady(state: DeltaTypeState): void {
    if (this.closed || state.inFlight) return;
    const nodeId = this.nodeId!;
    const snapshot = this.cache.getSnapshot(nodeId);
    if (!snapshot) {
      this.log.debug('no snapshot for node yet; the subscription waits', { stream: this.id, node: nodeId, type: state.type.shortName });
      return;
    }
    const { type } = state;
    const versions = snapshot.resourceVersions(type.typeUrl);
    const wanted = state.wildcard ? new Set([...versions.keys(), ...state.subscribed]) : state.subscribed;
    const changed: string[] = [];
    let heldBack = 0;
    for (const name of wanted) {
      const version = versions.get(name);
      // A subscribed name the snapshot lacks is not sent: Envoy keeps waiting for it, as in
      // state of the world (the consistency check keeps our own references resolvable).
      if (version === undefined || state.known.get(name) === version) continue;
      if (this.cache.isResourceRejected(nodeId, type.typeUrl, name, version)) heldBack++;
      else changed.push(name);
    }
    const removed = [...state.known.keys()].filter((name) => !versions.has(name) && (state.wildcard || state.subscribed.has(name)));

    const isolated = changed.find((name) => state.isolate.has(name));
    const sendNames = isolated !== undefined ? [isolated] : changed;
    const sendRemoved = isolated !== undefined ? [] : removed;
    if (sendNames.length === 0 && sendRemoved.length === 0 && !state.firstResponseDue) {
      if (heldBack > 0) this.log.debug('holding back resource versions this node rejected', { stream: this.id, node: nodeId, type: type.shortName, held_back: heldBack });
      // Envoy has every resource of the snapshot already (it went back to what Envoy runs).
      else this.cache.recordInSync(nodeId, type.typeUrl, snapshot.version(type.typeUrl));
      return;
    }
    const complete = heldBack === 0 && sendNames.length === changed.length && sendRemoved.length === removed.length;
    this.send(state, snapshot, sendNames.sort(), sendRemoved.sort(), complete);
  }

  private send(state: DeltaTypeState, snapshot: Snapshot, names: string[], removed: string[], complete: boolean): void {
    const { type } = state;
    const nodeId = this.nodeId!;
    const versions = snapshot.resourceVersions(type.typeUrl);
    const encoded = snapshot.encodedResources(type.typeUrl, names);
    const version = snapshot.version(type.typeUrl) + (complete ? '' : PARTIAL_VERSION_SUFFIX);
    const nonce = this.context.nextNonce();
    const sent = new Map(names.map((name) => [name, versions.get(name)!]));
    state.inFlight = { nonce, version, resources: sent, removed };
    state.firstResponseDue = false;
    this.cache.recordSent(nodeId, type.typeUrl, version, names.length + removed.length);
    this.log.debug('delta response sent', { stream: this.id, node: nodeId, type: type.shortName, version, nonce, resources: names.length, removed: removed.length });
    this.call.write({
      system_version_info: version,
      type_url: type.typeUrl,
      nonce,
      removed_resources: removed,
      resources: encoded.map((resource, i) => ({ name: names[i]!, version: sent.get(names[i]!)!, resource: { type_url: resource.type_url, value: resource.value } })),
    });
  }
}
