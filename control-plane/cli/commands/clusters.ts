/** `kubegate clusters`: the registered clusters and how you may reach each. */
import type { ClusterView } from '../../api/api-views';
import { apiSubcommand } from './api-command';
import { OUTPUT_OPTION, TABLE_OUTPUT_HELP, list, outputFormat, printJson, printTable } from './output';

export const clustersCommand = apiSubcommand({
  summary: 'list clusters and your access to each',
  usage: 'clusters [-o table|json]',
  description: 'Lists the clusters behind the edge, their labels, and how the policy in force lets you reach each (kubectl, console-only or none).',
  options: OUTPUT_OPTION,
  optionsHelp: TABLE_OUTPUT_HELP,
  async run(values, _args, client) {
    const format = outputFormat(values.output, ['table', 'json']);
    const r = await client().get<{ clusters: ClusterView[] }>('/clusters');
    if (format === 'json') printJson(r);
    else
      printTable(
        ['name', 'access', 'labels', 'policies'],
        r.clusters.map((c) => [
          c.name,
          c.access.mode + (c.access.requiresActiveSession ? ' (with console session)' : ''),
          list(Object.entries(c.labels).map(([k, v]) => `${k}=${v}`)),
          list(c.access.policies),
        ]),
        'no clusters registered',
      );
    return 0;
  },
});
