/** `kubegate whoami`: who the API takes you to be; the first check when something is refused. */
import type { WhoamiView } from '../../api/api-views';
import { apiSubcommand } from './api-command';
import { OUTPUT_OPTION, TEXT_OUTPUT_HELP, list, outputFormat, printFields, printJson } from './output';

export const whoamiCommand = apiSubcommand({
  summary: 'show who you are to kubegate',
  usage: 'whoami [-o text|json]',
  description: "Shows the user your client certificate names, the groups kubegate's records give you, and whether you administer kubegate.",
  options: OUTPUT_OPTION,
  optionsHelp: TEXT_OUTPUT_HELP,
  async run(values, _args, client) {
    const format = outputFormat(values.output, ['text', 'json']);
    const me = await client().get<WhoamiView>('/whoami');
    if (format === 'json') printJson(me);
    else
      printFields([
        ['user', me.user],
        ['groups', list(me.groups, 'none')],
        ['admin', me.admin ? 'yes' : 'no'],
        ['certificate', me.serial],
      ]);
    return 0;
  },
});
