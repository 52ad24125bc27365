/**
 * `kubegate cluster list`: the registered clusters, whether each
 * cluster's agent is connected, and your access to each; `cluster show NAME`: one of them.
 * `kubegate cluster add NAME`: registers a cluster and prints the one line its admin runs to
 * install the agent (`cluster install-link NAME` prints another for a registered cluster).
 * `kubegate cluster register NAME`: registers a cluster (or sets its labels) for an agent
 * installed by hand, which joins with `kubegate cluster join-token NAME`, a one-time token.
 * `kubegate cluster remove NAME`: deregisters a cluster and shuts its agent out.
 */
import type { ClusterView, InstallLinkView, JoinTokenView } from '../../api/api-views';
import { apiSubcommand, seg } from './api-command';
import { OUTPUT_OPTION, TABLE_OUTPUT_HELP, TEXT_OUTPUT_HELP, list, outputFormat, printFields, printJson, printTable } from './output';
import { commandGroup } from './subcommands';
import { DurationError, parseDurationMs } from '../../config/duration';
import { UsageError } from '../cli-error';
import { PATTERNS } from '../../../policies/src/names';

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

const TTL_HELP = '  --ttl DURATION        how long the link can be used, e.g. 15m (default the hub\'s, 15m unless\n                        configured; 1s to 24h)';

/** The one line first, so `| head -1` or a copy of the first line is all anyone needs. */
function printInstallLink(r: InstallLinkView, format: string): void {
  if (format === 'json') return printJson(r);
  const labels = Object.entries(r.labels).map(([k, v]) => `${k}=${v}`);
  process.stdout.write(
    [
      r.command,
      `# Run the line above in bash or zsh, with kubectl pointed at cluster "${r.cluster}" (its admin's kubeconfig).`,
      `# It installs kubegate's agent (${r.images.agent}) for "${r.cluster}"${labels.length ? ` with labels ${labels.join(', ')}` : ''}; the link works once, until ${r.expiresAt} (token ${r.tokenId}).`,
      ...(r.caPem ? ['# kubectl verifies the hub against the CA in the line. Where kubectl ignores SSL_CERT_FILE (macOS), run instead:', `#   ${r.curlCommand}`] : []),
      '',
    ].join('\n'),
  );
}

/** --label k=v, each a Kubernetes label (policies select clusters by them). */
function labelsOf(given: readonly string[] | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  const key = new RegExp(PATTERNS.labelKey, 'u');
  const value = new RegExp(PATTERNS.labelValue, 'u');
  for (const label of given ?? []) {
    const eq = label.indexOf('=');
    if (eq === -1) throw new UsageError(`--label "${label}" must be KEY=VALUE, e.g. env=prod`);
    const [k, v] = [label.slice(0, eq), label.slice(eq + 1)];
    if (!key.test(k)) throw new UsageError(`--label "${label}": "${k}" is not a label key (an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric)`);
    if (!value.test(v)) throw new UsageError(`--label "${label}": "${v}" is not a label value (empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric)`);
    if (k in labels && labels[k] !== v) throw new UsageError(`--label ${k} is given twice, with different values`);
    labels[k] = v;
  }
  return labels;
}

const CLUSTER_NAME = new RegExp(PATTERNS.clusterName, 'u');

function checkName(name: string): void {
  if (!CLUSTER_NAME.test(name)) throw new UsageError(`cluster name "${name}" must be a DNS label (lowercase letters, digits and '-', at most 63)`);
}

function checkTtl(ttl: string | undefined): void {
  if (ttl === undefined) return;
  let ms: number;
  try {
    ms = parseDurationMs(ttl);
  } catch (err) {
    if (err instanceof DurationError) throw new UsageError(`--ttl ${err.message}`);
    throw err;
  }
  if (ms < 1000 || ms > 24 * 3_600_000) throw new UsageError(`--ttl ${ttl} is out of range: an install link lasts at least 1s and at most 24h`);
}

const addCommand = apiSubcommand({
  summary: 'register a cluster and print the one command that installs its agent',
  usage: 'cluster add NAME [--label KEY=VALUE]... [--ttl DURATION] [-o text|json]',
  description:
    'Registers cluster NAME with the hub (it shows in `kubegate cluster list` as never-connected until its agent says hello) and prints one line to run against that cluster: `kubectl apply -f https://<hub>/install/<token>`, with the hub\'s CA handed to kubectl so it verifies the hub. The link serves the agent\'s manifest for NAME once, with a fresh join token inside, and the images and ClusterRoles the hub is configured with (agentInstall); after use or expiry it is refused. The token is shown once (kubegate keeps only its hash). Administrators only.\n\nTo install the agent again, or to move it to the images the hub now names, run `kubegate cluster install-link NAME` and the line it prints.',
  options: { label: { type: 'string', multiple: true }, ttl: { type: 'string' }, ...OUTPUT_OPTION },
  optionsHelp: `  --label KEY=VALUE     a label policies select the cluster by, e.g. env=prod; repeat for several\n${TTL_HELP}\n${TEXT_OUTPUT_HELP}`,
  positionals: ['NAME'],
  async run(values, [name], client) {
    const format = outputFormat(values.output, ['text', 'json']);
    checkName(name!);
    const labels = labelsOf(values.label);
    checkTtl(values.ttl);
    const r = await client().post<InstallLinkView>('/clusters', { name, labels, ...(values.ttl !== undefined ? { ttl: values.ttl } : {}) });
    printInstallLink(r, format);
    return 0;
  },
});

const installLinkCommand = apiSubcommand({
  summary: "print a new one-command install of a registered cluster's agent (reinstall, upgrade)",
  usage: 'cluster install-link NAME [--ttl DURATION] [-o text|json]',
  description:
    'Prints the line `kubegate cluster add` prints, for a cluster already registered: a new one-time link to its agent\'s manifest with the images the hub names today. Running it on the cluster reinstalls the agent, or upgrades it to those images (the agent keeps its identity; the new join token is not needed then and expires unused). Administrators only.',
  options: { ttl: { type: 'string' }, ...OUTPUT_OPTION },
  optionsHelp: `${TTL_HELP}\n${TEXT_OUTPUT_HELP}`,
  positionals: ['NAME'],
  async run(values, [name], client) {
    const format = outputFormat(values.output, ['text', 'json']);
    checkName(name!);
    checkTtl(values.ttl);
    const r = await client().post<InstallLinkView>(`/clusters/${seg(name!)}/install-tokens`, values.ttl !== undefined ? { ttl: values.ttl } : {});
    printInstallLink(r, format);
    return 0;
  },
});

const labelText = (labels: Readonly<Record<string, string>>) => list(Object.entries(labels).map(([k, v]) => `${k}=${v}`), 'none');

const showCommand = apiSubcommand({
  summary: 'show one cluster: its labels, its agent and your access',
  usage: 'cluster show NAME [-o table|json]',
  description:
    "Shows cluster NAME as `kubegate cluster list` does, with when it was registered: how the edge reaches it (direct, or over its agent's tunnels), its agent's status, last heartbeat and versions, its labels, and how the policy in force lets you reach it. A cluster that is not registered is an error (exit code 1).",
  options: OUTPUT_OPTION,
  optionsHelp: TABLE_OUTPUT_HELP,
  positionals: ['NAME'],
  async run(values, [name], client) {
    const format = outputFormat(values.output, ['table', 'json']);
    checkName(name!);
    const r = await client().get<{ cluster: ClusterView }>(`/clusters/${seg(name!)}`);
    if (format === 'json') {
      printJson(r);
      return 0;
    }
    const c = r.cluster;
    printFields([
      ['name', c.name],
      ['connection', c.connection],
      ['labels', labelText(c.labels)],
      ...(c.registeredAt ? [['registered', c.registeredAt] as const] : []),
      ...(c.agent
        ? ([
            ['agent', c.agent.status],
            ['last seen', c.agent.lastSeenAt ?? '-'],
            ['kubernetes version', c.agent.kubernetesVersion || '-'],
            ['agent version', c.agent.agentVersion || '-'],
          ] as const)
        : []),
      ['access', c.access.mode + (c.access.requiresActiveSession ? ' (with console session)' : '')],
      ['cluster roles', list(c.access.clusterRoles.map((g) => g.name + (g.namespaces?.length ? ` (in ${g.namespaces.join(',')})` : '')))],
      ['policies', list(c.access.policies)],
    ]);
    return 0;
  },
});

const registerCommand = apiSubcommand({
  summary: 'register a cluster for its agent to join, or set its labels',
  usage: 'cluster register NAME [--label KEY=VALUE]... [-o text|json]',
  description:
    "Registers cluster NAME with the hub, with exactly the labels given (none: no labels), for an agent installed by hand to join: it shows in `kubegate cluster list` as never-connected until its agent says hello. `kubegate cluster join-token NAME` makes the token the agent joins with. If NAME is registered already, its labels are set to the ones given and nothing else changes, so running the same command again changes nothing. From then on the cluster's labels are the hub's: its agent's own labels no longer replace them. Clusters the controller's configuration reaches directly are refused. Administrators only.\n\n`kubegate cluster add NAME` registers a cluster and prints a one-line install of its agent instead.",
  options: { label: { type: 'string', multiple: true }, ...OUTPUT_OPTION },
  optionsHelp: `  --label KEY=VALUE     a label policies select the cluster by, e.g. env=prod; repeat for several\n${TEXT_OUTPUT_HELP}`,
  positionals: ['NAME'],
  async run(values, [name], client) {
    const format = outputFormat(values.output, ['text', 'json']);
    checkName(name!);
    const labels = labelsOf(values.label);
    const r = await client().put<{ cluster: ClusterView }>(`/clusters/${seg(name!)}`, { labels });
    if (format === 'json') printJson(r);
    else process.stdout.write(`cluster ${r.cluster.name} is registered (labels: ${labelText(r.cluster.labels)}; agent: ${r.cluster.agent?.status ?? 'unknown'})\n`);
    return 0;
  },
});

const removeCommand = apiSubcommand({
  summary: 'deregister a cluster: off the edge, its agent disconnected for good',
  usage: 'cluster remove NAME [-o text|json]',
  description:
    "Deregisters cluster NAME: its record, join tokens and install links are deleted, the edge stops serving it (the command returns once that is in force), and its agent is disconnected and refused from then on, even if NAME is registered again: an agent for it must join with a new token (`kubegate cluster register NAME`, then `kubegate cluster join-token NAME`). Nothing is removed from the cluster itself. Clusters the controller's configuration reaches directly are refused. Administrators only.",
  options: OUTPUT_OPTION,
  optionsHelp: TEXT_OUTPUT_HELP,
  positionals: ['NAME'],
  async run(values, [name], client) {
    const format = outputFormat(values.output, ['text', 'json']);
    checkName(name!);
    const r = await client().delete<{ deleted: string }>(`/clusters/${seg(name!)}`);
    if (format === 'json') printJson(r);
    else process.stdout.write(`deregistered cluster ${r.deleted}; its agent is disconnected and can no longer connect\n`);
    return 0;
  },
});

export const clusterCommand = commandGroup('cluster', 'clusters and their agents', {
  list: listCommand,
  show: showCommand,
  register: registerCommand,
  add: addCommand,
  'install-link': installLinkCommand,
  'join-token': joinTokenCommand,
  remove: removeCommand,
});
