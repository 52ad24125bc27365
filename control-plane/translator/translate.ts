/**
 * The translator: (edge settings, registered clusters, certificate material) → xDS resources.
 * Pure by construction: no I/O, clock or randomness, so the same input always yields the same
 * resources (and so the same content-hash versions), and golden files can pin the output.
 */
import type { XdsResources } from '../xds/resources';
import { edgeUserShards, type TranslatorInput } from './input';
import { translateListeners } from './listener';
import type { FilterChainMemo } from './filter-chain-memo';
import { translateRoutes } from './routes';
import { translateClusters } from './clusters';
import { shardClusters } from './shard-listeners';
import { translateEndpoints } from './endpoints';
import { translateSecrets } from './secrets';
import { validateTranslatorInput } from './validate-input';

export interface TranslateOptions {
  /**
   * Remembers users' filter chains between translations so unchanged ones are handed back as
   * the same objects (filter-chain-memo.ts); the output's content does not depend on it.
   */
  readonly memo?: FilterChainMemo;
}

export function translate(input: TranslatorInput, options: TranslateOptions = {}): XdsResources {
  validateTranslatorInput(input);
  // Sorted by name so that registration order never changes the output.
  const sorted: TranslatorInput = { ...input, clusters: [...input.clusters].sort((a, b) => a.name.localeCompare(b.name)) };
  return {
    listeners: translateListeners(sorted, options.memo),
    routes: translateRoutes(sorted),
    // The registered clusters, then (users split across shards) the ways to the shards.
    clusters: [...translateClusters(sorted), ...shardClusters(edgeUserShards(sorted.edge))],
    endpoints: translateEndpoints(sorted),
    secrets: translateSecrets(sorted),
  };
}
