/**
 * The in-cluster Envoy's translator: (cluster registration, edge address, assertion keys) →
 * xDS resources. Pure, like the edge's translator, and golden-tested the same way.
 */
import type { XdsResources } from '../xds/resources';
import type { AgentTranslatorInput } from './input';
import { agentRoutes, reverseTunnelListener } from './reverse-tunnel-listener';
import { agentClusters, agentSecrets } from './agent-clusters';
import { TranslatorInputError } from '../translator/validate-input';
import { CLUSTER_NAME } from '../../agent/protocol/identities';

// Node ids become part of the rc:// address, whose parts are separated by ':' and '@'.
const NODE_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function translateAgent(input: AgentTranslatorInput): XdsResources {
  validate(input);
  return {
    listeners: [reverseTunnelListener(input)],
    routes: [agentRoutes()],
    clusters: agentClusters(input),
    endpoints: [],
    secrets: agentSecrets(input),
  };
}

function validate(input: AgentTranslatorInput): void {
  if (!CLUSTER_NAME.test(input.cluster)) throw new TranslatorInputError(`cluster name "${input.cluster}" must be a DNS label`);
  if (!NODE_ID.test(input.nodeId)) throw new TranslatorInputError(`node id "${input.nodeId}" may use only letters, digits, '.', '_' and '-' (at most 128)`);
  if (input.edgeTunnels.length === 0) throw new TranslatorInputError('edgeTunnels names no edge tunnel listener');
  const ports = [...input.edgeTunnels.map((t, i) => [`edgeTunnels[${i}].port`, t.port] as const), ['apiserver.port', input.apiserver.port] as const];
  for (const [what, port] of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TranslatorInputError(`${what} ${port} is not a TCP port`);
  }
  if (!input.apiserver.caPem.includes('BEGIN CERTIFICATE')) throw new TranslatorInputError(`cluster "${input.cluster}": apiserver CA is not a PEM certificate`);
  if (!input.edgeCaPem.includes('BEGIN CERTIFICATE')) throw new TranslatorInputError('edgeCaPem is not a PEM certificate');
  if (!input.secretsDirectory.startsWith('/')) throw new TranslatorInputError(`secrets directory "${input.secretsDirectory}" must be an absolute path`);
  const flush = input.accessLogFlushIntervalSeconds;
  if (flush !== undefined && (!Number.isInteger(flush) || flush < 1)) throw new TranslatorInputError(`accessLogFlushIntervalSeconds ${flush} must be a whole number of seconds, at least 1`);
  let keys: unknown;
  try {
    keys = (JSON.parse(input.assertionJwks) as { keys?: unknown }).keys;
  } catch {
    keys = undefined;
  }
  if (!Array.isArray(keys) || keys.length === 0) throw new TranslatorInputError('assertionJwks must be a JWKS with at least one key');
}
