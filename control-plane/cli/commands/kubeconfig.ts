/**
 * `kubegate kubeconfig`: a kubeconfig for a user, issued by the control plane through the admin
 * API. The control plane picks the contexts (clusters the user may reach with kubectl), records
 * the certificate so it can be revoked, and refuses with the reason when there is nothing the
 * user could reach.
 */
import * as fs from 'node:fs';
import type { KubeconfigView } from '../../api/api-views';
import { parseDurationMs } from '../../config/duration';
import { flagRules, given } from '../flag-rules';
import { apiSubcommand } from './api-command';

export const kubeconfigCommand = apiSubcommand({
  summary: 'issue a kubeconfig with a short-lived client certificate',
  usage: 'kubeconfig --user NAME [--ttl DURATION] [--cluster C]... [-o FILE]',
  description: `Issues a kubeconfig for NAME with a short-lived client certificate and one context per
cluster the user may reach with kubectl under the policies in force. Administrators may issue
one for anyone; everyone may renew their own. Without -o it is printed on standard output.`,
  options: {
    user: { type: 'string' },
    ttl: { type: 'string' },
    cluster: { type: 'string', multiple: true },
    output: { type: 'string', short: 'o' },
  },
  optionsHelp: `  --user NAME           the user the certificate names (required)
  --ttl DURATION        certificate lifetime, e.g. 30m, 8h (default and maximum: the control
                        plane's, normally 8h and 24h)
  --cluster C           only this cluster; repeat for several (default: every cluster the user
                        may reach with kubectl)
  -o, --output FILE     write here (mode 0600) instead of standard output
`,
  flagRules: flagRules({ user: given('--user') }, ['user']),
  async run(values, _args, client) {
    // Checked here too, so a typo is reported before anything else is needed.
    if (values.ttl !== undefined) parseDurationMs(values.ttl);
    const body = {
      user: values.user!,
      ...(values.ttl !== undefined ? { ttl: values.ttl } : {}),
      ...(values.cluster !== undefined ? { clusters: values.cluster } : {}),
    };
    const issued = await client().post<KubeconfigView>('/kubeconfigs', body);
    for (const note of issued.notes) process.stderr.write(`note: ${note}\n`);
    if (values.output) {
      fs.writeFileSync(values.output, issued.kubeconfig, { mode: 0o600 });
      // writeFileSync keeps an existing file's mode; a kubeconfig holds a private key.
      fs.chmodSync(values.output, 0o600);
      process.stderr.write(
        `wrote ${values.output}: user ${issued.user}, ${issued.clusters.length} context(s) (${issued.clusters.join(', ')}), valid until ${issued.notAfter}\n`,
      );
    } else {
      process.stdout.write(issued.kubeconfig);
    }
    return 0;
  },
});
