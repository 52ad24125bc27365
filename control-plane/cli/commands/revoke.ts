/** `kubegate revoke --user NAME`: every certificate of the user stops working at once. */
import type { RevocationView } from '../../api/api-views';
import { flagRules, given } from '../flag-rules';
import { apiSubcommand, seg } from './api-command';
import { OUTPUT_OPTION, TEXT_OUTPUT_HELP, outputFormat, printJson } from './output';

export const revokeCommand = apiSubcommand({
  summary: "revoke every certificate of a user",
  usage: 'revoke --user NAME',
  description:
    "Revokes every certificate issued to the user, ends their console sessions and cancels their break-glass grants. Their open connections at the edge are closed. The user stays enabled: issue a new kubeconfig when they should have access again.",
  options: { user: { type: 'string' }, ...OUTPUT_OPTION },
  optionsHelp: `  --user NAME           the user (required)\n${TEXT_OUTPUT_HELP}`,
  flagRules: flagRules({ user: given('--user') }, ['user']),
  async run(values, _args, client) {
    const format = outputFormat(values.output, ['text', 'json']);
    const r = await client().post<RevocationView>(`/users/${seg(values.user!)}/revoke`);
    if (format === 'json') printJson(r);
    else process.stdout.write(`revoked ${r.revokedCertificates} certificate(s) of user ${r.user} at ${r.revokedAt}\n`);
    return 0;
  },
});
