/** `kubegate group ...`: group records and membership, through the admin API. */
import type { GroupView, UserView } from '../../api/api-views';
import { apiSubcommand, seg } from './api-command';
import { list, OUTPUT_OPTION, TABLE_OUTPUT_HELP, TEXT_OUTPUT_HELP, outputFormat, printJson, printTable } from './output';
import { commandGroup } from './subcommands';


export const groupCommand = commandGroup('group', 'manage groups and their members', {
  create: apiSubcommand({
    summary: 'create a group',
    usage: 'group create NAME [--description TEXT]',
    description: 'Records a group with a description. Users can be members of groups without a record (groups from an identity provider); a record documents what the group is for.',
    options: { description: { type: 'string' }, ...OUTPUT_OPTION },
    optionsHelp: `  --description TEXT    what the group is for\n${TEXT_OUTPUT_HELP}`,
    positionals: ['NAME'],
    async run(values, [name], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const r = await client().post<{ group: GroupView }>('/groups', { name, ...(values.description !== undefined ? { description: values.description } : {}) });
      if (format === 'json') printJson(r);
      else process.stdout.write(`created group ${r.group.name}\n`);
      return 0;
    },
  }),
  list: apiSubcommand({
    summary: 'list groups and their members',
    usage: 'group list [-o table|json]',
    description: 'Lists the recorded groups with their members.',
    options: OUTPUT_OPTION,
    optionsHelp: TABLE_OUTPUT_HELP,
    async run(values, _args, client) {
      const format = outputFormat(values.output, ['table', 'json']);
      const r = await client().get<{ groups: GroupView[] }>('/groups');
      if (format === 'json') printJson(r);
      else printTable(['name', 'members', 'description'], r.groups.map((g) => [g.name, list(g.members), g.description || '-']), 'no groups');
      return 0;
    },
  }),
  delete: apiSubcommand({
    summary: 'delete a group and remove it from every member',
    usage: 'group delete NAME',
    description: 'Deletes the group record and removes the group from every user.',
    options: OUTPUT_OPTION,
    optionsHelp: TEXT_OUTPUT_HELP,
    positionals: ['NAME'],
    async run(values, [name], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const r = await client().delete<{ deleted: string }>(`/groups/${seg(name!)}`);
      if (format === 'json') printJson(r);
      else process.stdout.write(`deleted group ${r.deleted}\n`);
      return 0;
    },
  }),
  'add-member': apiSubcommand({
    summary: 'add a user to a group',
    usage: 'group add-member GROUP USER',
    description: 'Adds the user to the group. Takes effect at the edge at once.',
    options: OUTPUT_OPTION,
    optionsHelp: TEXT_OUTPUT_HELP,
    positionals: ['GROUP', 'USER'],
    async run(values, [group, user], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const r = await client().post<{ user: UserView; changed: boolean }>(`/groups/${seg(group!)}/members`, { user });
      if (format === 'json') printJson(r);
      else process.stdout.write(r.changed ? `added ${user} to group ${group}\n` : `${user} is already a member of group ${group}\n`);
      return 0;
    },
  }),
  'remove-member': apiSubcommand({
    summary: 'remove a user from a group',
    usage: 'group remove-member GROUP USER',
    description: 'Removes the user from the group. Takes effect at the edge at once.',
    options: OUTPUT_OPTION,
    optionsHelp: TEXT_OUTPUT_HELP,
    positionals: ['GROUP', 'USER'],
    async run(values, [group, user], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const r = await client().delete<{ user: UserView }>(`/groups/${seg(group!)}/members/${seg(user!)}`);
      if (format === 'json') printJson(r);
      else process.stdout.write(`removed ${user} from group ${group}\n`);
      return 0;
    },
  }),
});
