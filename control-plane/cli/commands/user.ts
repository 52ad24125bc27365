/** `kubegate user ...`: kubegate's users and their groups, through the admin API. */
import type { UserDetailView, UserView } from '../../api/api-views';
import { UsageError } from '../cli-error';
import { apiSubcommand, seg } from './api-command';
import { list, OUTPUT_OPTION, TABLE_OUTPUT_HELP, TEXT_OUTPUT_HELP, outputFormat, printFields, printJson, printTable } from './output';
import { commandGroup } from './subcommands';


function printUser(format: string, user: UserView, verb: string): void {
  if (format === 'json') printJson({ user });
  else process.stdout.write(`${verb} user ${user.name} (groups: ${list(user.groups, 'none')}${user.disabled ? ', disabled' : ''})\n`);
}

export const userCommand = commandGroup('user', 'manage kubegate users and their groups', {
  create: apiSubcommand({
    summary: 'create a user',
    usage: 'user create NAME [--group G]...',
    description: 'Creates a user. Groups decide which policies apply to the user; they can be changed later.',
    options: { group: { type: 'string', multiple: true }, ...OUTPUT_OPTION },
    optionsHelp: `  --group G             a group the user belongs to; repeat for several\n${TEXT_OUTPUT_HELP}`,
    positionals: ['NAME'],
    async run(values, [name], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const r = await client().post<{ user: UserView }>('/users', { name, groups: values.group ?? [] });
      printUser(format, r.user, 'created');
      return 0;
    },
  }),
  list: apiSubcommand({
    summary: 'list users',
    usage: 'user list [-o table|json]',
    description: 'Lists every user with their groups and whether they are disabled or administrators.',
    options: OUTPUT_OPTION,
    optionsHelp: TABLE_OUTPUT_HELP,
    async run(values, _args, client) {
      const format = outputFormat(values.output, ['table', 'json']);
      const r = await client().get<{ users: UserView[] }>('/users');
      if (format === 'json') printJson(r);
      else
        printTable(
          ['name', 'groups', 'status', 'admin', 'created'],
          r.users.map((u) => [u.name, list(u.groups), u.disabled ? 'disabled' : 'enabled', u.admin ? 'yes' : 'no', u.createdAt]),
          'no users',
        );
      return 0;
    },
  }),
  show: apiSubcommand({
    summary: "show a user and their certificates",
    usage: 'user show NAME [-o table|json]',
    description: "Shows a user's groups and status, and every certificate issued to them (valid, expired or revoked).",
    options: OUTPUT_OPTION,
    optionsHelp: TABLE_OUTPUT_HELP,
    positionals: ['NAME'],
    async run(values, [name], client) {
      const format = outputFormat(values.output, ['table', 'json']);
      const r = await client().get<{ user: UserDetailView }>(`/users/${seg(name!)}`);
      if (format === 'json') {
        printJson(r);
        return 0;
      }
      const u = r.user;
      printFields([
        ['name', u.name],
        ['groups', list(u.groups, 'none')],
        ['status', u.disabled ? 'disabled' : 'enabled'],
        ['admin', u.admin ? 'yes' : 'no'],
        ['created', u.createdAt],
        ['updated', u.updatedAt],
        ['credential revision', String(u.credentialRevision)],
      ]);
      process.stdout.write('\n');
      printTable(
        ['serial', 'status', 'issued', 'not after', 'revoked'],
        u.certificates.map((c) => [c.serial, c.status, c.issuedAt, c.notAfter, c.revokedAt ?? '-']),
        'no certificates issued',
      );
      return 0;
    },
  }),
  'set-groups': apiSubcommand({
    summary: "replace a user's groups",
    usage: 'user set-groups NAME (--group G... | --none)',
    description: "Replaces the user's groups with exactly the ones given. Takes effect at the edge at once.",
    options: { group: { type: 'string', multiple: true }, none: { type: 'boolean' }, ...OUTPUT_OPTION },
    optionsHelp: `  --group G             a group; repeat for several\n  --none                remove the user from every group\n${TEXT_OUTPUT_HELP}`,
    positionals: ['NAME'],
    async run(values, [name], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const groups = values.group ?? [];
      if (groups.length === 0 && !values.none) throw new UsageError('give the groups with --group G (repeat for several), or --none to remove every group');
      if (groups.length > 0 && values.none) throw new UsageError('--none and --group exclude each other');
      const r = await client().put<{ user: UserView }>(`/users/${seg(name!)}/groups`, { groups });
      printUser(format, r.user, 'updated');
      return 0;
    },
  }),
  ...Object.fromEntries(
    (
      [
        ['disable', 'disable a user (their certificates stop working at once)', 'Disables the user: every request with their certificates is refused until the user is enabled again.'],
        ['enable', 'enable a disabled user', 'Enables a disabled user again.'],
      ] as const
    ).map(([verb, summary, description]) => [
      verb,
      apiSubcommand({
        summary,
        usage: `user ${verb} NAME`,
        description,
        options: OUTPUT_OPTION,
        optionsHelp: TEXT_OUTPUT_HELP,
        positionals: ['NAME'],
        async run(values, [name], client) {
          const format = outputFormat(values.output, ['text', 'json']);
          const r = await client().post<{ user: UserView }>(`/users/${seg(name!)}/${verb}`);
          printUser(format, r.user, `${verb}d`);
          return 0;
        },
      }),
    ]),
  ),
  delete: apiSubcommand({
    summary: 'delete a user, their certificates and sessions',
    usage: 'user delete NAME',
    description: 'Deletes the user with their certificates and console sessions.',
    options: OUTPUT_OPTION,
    optionsHelp: TEXT_OUTPUT_HELP,
    positionals: ['NAME'],
    async run(values, [name], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const r = await client().delete<{ deleted: string }>(`/users/${seg(name!)}`);
      if (format === 'json') printJson(r);
      else process.stdout.write(`deleted user ${r.deleted}\n`);
      return 0;
    },
  }),
});
