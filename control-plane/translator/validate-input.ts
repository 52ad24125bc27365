import type { TranslatorInput } from './input';

/** Raised when the translator is handed input it cannot turn into a safe configuration. */
export class TranslatorInputError extends Error {
  readonly code = 'ERR_TRANSLATOR_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'TranslatorInputError';
  }
}

// Cluster names become URL path segments and resource names: DNS-label rules keep both safe.
const CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function validateTranslatorInput(input: TranslatorInput): void {
  const { edge } = input;
  if (!edge.nodeId) throw new TranslatorInputError('edge.nodeId is empty');
  if (!edge.controlPlaneCluster) throw new TranslatorInputError('edge.controlPlaneCluster is empty');
  if (!edge.authzCluster) throw new TranslatorInputError('edge.authzCluster is empty: requests cannot be authorized without it');
  if (!Number.isInteger(edge.listenPort) || edge.listenPort < 1 || edge.listenPort > 65535) {
    throw new TranslatorInputError(`edge.listenPort ${edge.listenPort} is not a TCP port`);
  }
  const seen = new Set<string>();
  for (const cluster of input.clusters) {
    if (!CLUSTER_NAME.test(cluster.name)) {
      throw new TranslatorInputError(`cluster name "${cluster.name}" must be a DNS label (lowercase letters, digits, '-'; at most 63)`);
    }
    if (seen.has(cluster.name)) throw new TranslatorInputError(`cluster "${cluster.name}" is registered twice`);
    seen.add(cluster.name);
    const { port } = cluster.apiserver;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TranslatorInputError(`cluster "${cluster.name}": apiserver port ${port} is not a TCP port`);
    }
    if (!cluster.apiserver.caPem.includes('BEGIN CERTIFICATE')) {
      throw new TranslatorInputError(`cluster "${cluster.name}": apiserver CA is not a PEM certificate`);
    }
  }
}
