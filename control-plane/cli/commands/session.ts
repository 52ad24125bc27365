/**
 * `kubegate session ...`: console sessions, until the web console opens them itself. Policies
 * with requireActiveSession allow kubectl only while the user has a recently active session.
 */
import type { SessionView } from '../../api/api-views';
import { apiSubcommand, seg } from './api-command';
import { OUTPUT_OPTION, TEXT_OUTPUT_HELP, outputFormat, printJson } from './output';
import { commandGroup } from './subcommands';


export const sessionCommand = commandGroup('session', 'start and stop console sessions', {
  start: apiSubcommand({
    summary: 'start a console session and print its id',
    usage: 'session start',
    description: 'Starts a console session for you and prints its id (use it with touch and stop).',
    options: OUTPUT_OPTION,
    optionsHelp: TEXT_OUTPUT_HELP,
    async run(values, _args, client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const r = await client().post<{ session: SessionView }>('/sessions');
      if (format === 'json') printJson(r);
      else process.stdout.write(`${r.session.id}\n`);
      return 0;
    },
  }),
  touch: apiSubcommand({
    summary: 'mark a session active now',
    usage: 'session touch ID',
    description: 'Records activity on one of your console sessions.',
    options: OUTPUT_OPTION,
    optionsHelp: TEXT_OUTPUT_HELP,
    positionals: ['ID'],
    async run(values, [id], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const r = await client().post<{ session: SessionView }>(`/sessions/${seg(id!)}/activity`);
      if (format === 'json') printJson(r);
      else process.stdout.write(`session ${r.session.id} active at ${r.session.lastActiveAt}\n`);
      return 0;
    },
  }),
  stop: apiSubcommand({
    summary: 'end a session',
    usage: 'session stop ID',
    description: 'Ends one of your console sessions.',
    options: OUTPUT_OPTION,
    optionsHelp: TEXT_OUTPUT_HELP,
    positionals: ['ID'],
    async run(values, [id], client) {
      const format = outputFormat(values.output, ['text', 'json']);
      const r = await client().delete<{ session: SessionView }>(`/sessions/${seg(id!)}`);
      if (format === 'json') printJson(r);
      else process.stdout.write(`session ${r.session.id} ended at ${r.session.endedAt}\n`);
      return 0;
    },
  }),
});
