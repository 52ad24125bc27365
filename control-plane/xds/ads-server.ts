/**
 * The Aggregated Discovery Service: one gRPC stream per Envoy that carries every resource type,
 * in either variant of the protocol. Which one a stream speaks is the Envoy's choice (its
 * bootstrap's ads_config.api_type): GRPC is state of the world (sotw-stream.ts), DELTA_GRPC is
 * incremental (delta-stream.ts). Both read the same snapshots from the same cache, so an Envoy
 * can switch between them across restarts without the control plane knowing in advance.
 */
import * as grpc from '@grpc/grpc-js';
import { grpcService } from '../proto/envoy-protos';
import type { Logger } from '../log/logger';
import type { SnapshotCache } from './snapshot-cache';
import type { AdsServiceOptions, AdsStreamContext } from './ads-stream';
import { SotwStream, type DiscoveryRequestWire, type DiscoveryResponseWire } from './sotw-stream';
import { DeltaStream, type DeltaDiscoveryRequestWire, type DeltaDiscoveryResponseWire } from './delta-stream';

export { nodeMetadataString, type AdsNode, type AdsCall, type AdsServiceOptions } from './ads-stream';

/** Registers envoy.service.discovery.v3.AggregatedDiscoveryService on the server. */
export function addAdsService(server: grpc.Server, cache: SnapshotCache, logger: Logger, options: AdsServiceOptions = {}): void {
  const service = grpcService('envoy.service.discovery.v3.AggregatedDiscoveryService').service;
  let nonceCounter = 0;
  let streamCounter = 0;
  const context: AdsStreamContext = { cache, log: logger, nextNonce: () => String(++nonceCounter), options };
  server.addService(service, {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequestWire, DiscoveryResponseWire>) => {
      new SotwStream(call, ++streamCounter, context, 'sotw').start();
    },
    DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequestWire, DeltaDiscoveryResponseWire>) => {
      new DeltaStream(call, ++streamCounter, context, 'delta').start();
    },
  });
}
