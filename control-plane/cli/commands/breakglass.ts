/**
 * `kubegate breakglass ...`: request elevated access under a BreakGlassPolicy, approve or
 * reject others' requests, and list them. Requests are always the caller's own.
 */
import type { BreakGlassView } from '../../api/api-views';
import { flagRules, requiredText } from '../flag-rules';
import { apiSubcommand, seg } from './api-command';
import { OUTPUT_OPTION, TABLE_OUTPUT_HELP, TEXT_OUTPUT_HELP, outputFormat, printJson, printTable } from './output';
import { commandGroup } from './subcommands';

function describe(r: BreakGlassView): string {
  switch (r.state) {
    case 'active':
      return `break-glass request ${r.id} is active: ${r.policy} on ${r.cluster} until ${r.expiresAt}`;
    case 'pending': {
      const needed = r.approvalsRequired !== undefined ? ` of ${r.approvalsRequired}` : '';
      return `break-glass request ${r.id} is pending: ${r.approvals.length}${needed} approval(s) so far`;
    }
    default:
      return `break-glass request ${r.id} is ${r.state}${r.endedBy ? ` (by ${r.endedBy}${r.endReason ? `: ${r.endReason}` : ''})` : ''}`;
  }
}

function printRequest(format: string, r: BreakGlassView): void {
  if (format === 'json') printJson({ request: r });
  else process.stdout.write(describe(r) + '\n');
}

export const breakglassCommand = commandGroup('breakglass', 'request, approve and list break-glass access', {
  request: apiSubcommand({
    summary: 'request break-glass access for yourself',
    usage: 'breakglass request --policy P --cluster C --duration D [--reason TEXT]',
    description: `Requests the access a BreakGlassPolicy grants, on one cluster, for a while. If the policy
needs no approval the access is active at once; otherwise approvers see the request with
'kubegate breakglass list' and approve it.`,
    options: { policy: { type: 'string' }, cluster: { type: 'string' }, duration: { type: 'string' }, reason: { type: 'string' }, ...OUTPUT_OPTION },
    optionsHelp: `  --policy P            the BreakGlassPolicy (required)
  --cluster C           the cluster (required)
  --duration D          how long, e.g. 30m or 2h; at most the policy's maxDuration (required)
  --reason TEXT         why you need it (required unless the policy makes it optional)
${TEXT_OUTPUT_HELP}`,
    flagRules: flagRules({ policy: requiredText('--policy'), cluster: requiredText('--cluster'), duration: requiredText('--duration') }, ['policy', 'cluster', 'duration']),
    async run(values, _args, client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const body = {
        policy: values.policy!,
        cluster: values.cluster!,
        duration: values.duration!,
        ...(values.reason !== undefined ? { justification: values.reason } : {}),
      };
      const r = await client().post<{ request: BreakGlassView }>('/breakglass', body);
      printRequest(format, r.request);
      return 0;
    },
  }),
  approve: apiSubcommand({
    summary: "approve someone's request",
    usage: 'breakglass approve ID',
    description: "Approves a pending request you are an approver of (never your own). It becomes active once it has the approvals its policy needs.",
    options: OUTPUT_OPTION,
    optionsHelp: TEXT_OUTPUT_HELP,
    positionals: ['ID'],
    async run(values, [id], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const r = await client().post<{ request: BreakGlassView }>(`/breakglass/${seg(id!)}/approve`);
      printRequest(format, r.request);
      return 0;
    },
  }),
  reject: apiSubcommand({
    summary: 'reject a pending request',
    usage: 'breakglass reject ID --reason TEXT',
    description: 'Rejects a pending request you are an approver of (administrators may reject any).',
    options: { reason: { type: 'string' }, ...OUTPUT_OPTION },
    optionsHelp: `  --reason TEXT         why (required; the requester sees it)\n${TEXT_OUTPUT_HELP}`,
    positionals: ['ID'],
    flagRules: flagRules({ reason: requiredText('--reason') }, ['reason']),
    async run(values, [id], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const reason = values.reason!;
      const r = await client().post<{ request: BreakGlassView }>(`/breakglass/${seg(id!)}/reject`, { reason });
      printRequest(format, r.request);
      return 0;
    },
  }),
  cancel: apiSubcommand({
    summary: 'withdraw a request or end an active grant early',
    usage: 'breakglass cancel ID [--reason TEXT]',
    description: 'Cancels your own pending request or active grant (administrators may cancel any).',
    options: { reason: { type: 'string' }, ...OUTPUT_OPTION },
    optionsHelp: `  --reason TEXT         why\n${TEXT_OUTPUT_HELP}`,
    positionals: ['ID'],
    async run(values, [id], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const r = await client().post<{ request: BreakGlassView }>(`/breakglass/${seg(id!)}/cancel`, values.reason !== undefined ? { reason: values.reason } : undefined);
      printRequest(format, r.request);
      return 0;
    },
  }),
  list: apiSubcommand({
    summary: 'list requests (yours, and those you may approve)',
    usage: 'breakglass list [--state S] [-o table|json]',
    description: 'Lists your requests and those you may approve (administrators see all), newest first.',
    options: { state: { type: 'string' }, ...OUTPUT_OPTION },
    optionsHelp: `  --state S             only pending, active, expired, rejected or cancelled requests\n${TABLE_OUTPUT_HELP}`,
    async run(values, _args, client) {
      const format = outputFormat(values.output, ['table', 'json']);
      const query = values.state !== undefined ? `?state=${encodeURIComponent(values.state)}` : '';
      const r = await client().get<{ requests: BreakGlassView[] }>(`/breakglass${query}`);
      if (format === 'json') printJson(r);
      else
        printTable(
          ['id', 'user', 'policy', 'cluster', 'state', 'approvals', 'requested', 'expires'],
          r.requests.map((b) => [
            b.id,
            b.user,
            b.policy,
            b.cluster,
            b.state,
            `${b.approvals.length}${b.approvalsRequired !== undefined ? `/${b.approvalsRequired}` : ''}`,
            b.requestedAt,
            b.expiresAt ?? '-',
          ]),
          'no break-glass requests',
        );
      return 0;
    },
  }),
});
