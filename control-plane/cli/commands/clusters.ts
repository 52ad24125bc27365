/**
 * `kubegate cluster list`: the registered clusters, whether each
 * cluster's agent is connected, and your access to each. `kubegate cluster join-token NAME`:
 * a one-time token an agent joins with.
 */
import type { ClusterView, JoinTokenView } from '../../api/api-views';
import { apiSubcommand, seg } from './api-command';
import { OUTPUT_OPTION, TABLE_OUTPUT_HELP, TEXT_OUTPUT_HELP, list, outputFormat, printJson, printTable } from './output';
import { commandGroup } from './subcommands';
import { parseDurationMs } from '../../config/duration';

function status(c: ClusterView): string {
  if (c.connection === 'direct') return 'direct';
  return c.agent?.status ?? 'unknown';
}

const listCommand = apiSubcommand({
  summary: 'list clusters, their agents\' status and your access to each',
  usage: 'cluster list [-o table|json]',
  description:
    'Lists the clusters behind the edge: how the edge reaches each (direct, or over its agent\'s tunnels, with the agent\'s status, last heartbeat and the cluster\'s Kubernetes version), their labels, and how the policy in force lets you reach each (kubectl, console-only or none).',
  options: OUTPUT_OPTION,
  optionsHelp: TABLE_OUTPUT_HELP,
  async run(values, _args, client) {
    const format = outputFormat(values.output, ['table', 'json']);
    const r = await client().get<{ clusters: ClusterView[] }>('/clusters');
    if (format === 'json') printJson(r);
    else
      printTable(
        ['name', 'status', 'last seen', 'version', 'access', 'labels', 'policies'],
        r.clusters.map((c) => [
          c.name,
          status(c),
          c.agent?.lastSeenAt ?? '-',
          c.agent?.kubernetesVersion || '-',
          c.access.mode + (c.access.requiresActiveSession ? ' (with console session)' : ''),
          list(Object.entries(c.labels).map(([k, v]) => `${k}=${v}`)),
          list(c.access.policies),
        ]),
        'no clusters registered',
      );
    return 0;
  },
});

const joinTokenCommand = apiSubcommand({
  summary: 'create a one-time join token for a cluster\'s agent',
  usage: 'cluster join-token NAME [--ttl DURATION]',
  description:
    'Creates a token the agent of cluster NAME joins with, once: it receives a certificate for that cluster only. The token is shown once (kubegate keeps only its hash). Administrators only.',
  options: { ttl: { type: 'string' }, ...OUTPUT_OPTION },
  optionsHelp: `  --ttl DURATION        how long the token can be used, e.g. 30m (default 1h, at most 24h)\n${TEXT_OUTPUT_HELP}`,
  positionals: ['NAME'],
  async run(values, [name], client) {
    const format = outputFormat(values.output, ['text', 'json']);
    if (values.ttl !== undefined) parseDurationMs(values.ttl);
    const r = await client().post<JoinTokenView>(`/clusters/${seg(name!)}/join-tokens`, values.ttl !== undefined ? { ttl: values.ttl } : {});
    if (format === 'json') printJson(r);
    else process.stdout.write(`${r.token}\n# join token ${r.id} for cluster ${r.cluster}, valid until ${r.expiresAt}; usable once\n`);
    return 0;
  },
});

export const clusterCommand = commandGroup('cluster', 'clusters and their agents', {
  list: listCommand,
  'join-token': joinTokenCommand,
});
