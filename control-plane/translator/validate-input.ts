import { edgeUserShards, isTunnelCluster, type TranslatorInput } from './input';
import { isUserShardCount, MAX_USER_SHARDS } from '../identity/user-identity';
import { CLUSTER_NAME } from '../../agent/protocol/identities';

/** Raised when the translator is handed input it cannot turn into a safe configuration. */
export class TranslatorInputError extends Error {
  readonly code = 'ERR_TRANSLATOR_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'TranslatorInputError';
  }
}

export function validateTranslatorInput(input: TranslatorInput): void {
  const { edge } = input;
  if (!edge.nodeId) throw new TranslatorInputError('edge.nodeId is empty');
  if (!edge.controlPlaneCluster) throw new TranslatorInputError('edge.controlPlaneCluster is empty');
  if (!edge.authzCluster) throw new TranslatorInputError('edge.authzCluster is empty: requests cannot be authorized without it');
  if (!Number.isInteger(edge.listenPort) || edge.listenPort < 1 || edge.listenPort > 65535) {
    throw new TranslatorInputError(`edge.listenPort ${edge.listenPort} is not a TCP port`);
  }
  if (input.tunnels) {
    const { listenPort, agentCaPem } = input.tunnels;
    if (!Number.isInteger(listenPort) || listenPort < 1 || listenPort > 65535) throw new TranslatorInputError(`tunnels.listenPort ${listenPort} is not a TCP port`);
    if (listenPort === edge.listenPort) throw new TranslatorInputError(`tunnels.listenPort ${listenPort} is the users' port too; agents need a port of their own`);
    if (!agentCaPem.includes('BEGIN CERTIFICATE')) throw new TranslatorInputError('tunnels.agentCaPem is not a PEM certificate');
  }
  const shards = edgeUserShards(edge);
  if (!isUserShardCount(shards)) {
    throw new TranslatorInputError(
      `edge.userShards ${String(shards)} is not a shard count: it must be a power of two from 1 to ${MAX_USER_SHARDS} (1, 2, 4, ... 16, ... 256), so that each shard is a whole number of hex prefixes of users' server names`,
    );
  }
  for (const [key, revision] of Object.entries(input.userFallbackRevisions ?? {})) {
    const shard = Number(key);
    if (!/^(0|[1-9][0-9]*)$/.test(key) || shard >= shards) {
      throw new TranslatorInputError(`userFallbackRevisions: "${key}" is not a shard (0 to ${shards - 1} with edge.userShards ${shards})`);
    }
    if (typeof revision !== 'string') throw new TranslatorInputError(`userFallbackRevisions: shard ${key}'s revision is not a string`);
  }
  if (input.sharedChainRevision !== undefined && typeof input.sharedChainRevision !== 'string') {
    throw new TranslatorInputError('sharedChainRevision is not a string');
  }
  const users = input.users ?? [];
  if (users.length > 0 && (typeof input.now !== 'number' || !Number.isFinite(input.now))) {
    throw new TranslatorInputError('now is required with users: it decides whose certificates are live, and so who has a filter chain');
  }
  const names = new Set<string>();
  for (const user of users) {
    if (!user.name) throw new TranslatorInputError('a user has an empty name');
    if (names.has(user.name)) throw new TranslatorInputError(`user "${user.name}" is listed twice`);
    names.add(user.name);
    if (user.certificateNotAfter !== undefined && !Number.isFinite(user.certificateNotAfter)) {
      throw new TranslatorInputError(`user "${user.name}": certificateNotAfter ${String(user.certificateNotAfter)} is not a time (epoch ms)`);
    }
  }
  const seen = new Set<string>();
  for (const cluster of input.clusters) {
    if (!CLUSTER_NAME.test(cluster.name)) {
      throw new TranslatorInputError(`cluster name "${cluster.name}" must be a DNS label (lowercase letters, digits, '-'; at most 63)`);
    }
    if (seen.has(cluster.name)) throw new TranslatorInputError(`cluster "${cluster.name}" is registered twice`);
    seen.add(cluster.name);
    if (isTunnelCluster(cluster)) {
      if (!input.tunnels) throw new TranslatorInputError(`cluster "${cluster.name}" is reached over tunnels, but the edge has no tunnel listener (tunnels settings missing)`);
      continue;
    }
    const { port } = cluster.apiserver;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TranslatorInputError(`cluster "${cluster.name}": apiserver port ${port} is not a TCP port`);
    }
    if (!cluster.apiserver.caPem.includes('BEGIN CERTIFICATE')) {
      throw new TranslatorInputError(`cluster "${cluster.name}": apiserver CA is not a PEM certificate`);
    }
  }
}
