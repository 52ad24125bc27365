import { isTunnelCluster, type TranslatorInput } from './input';
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
