import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseOptions } from '../parse-options';
import { UsageError } from '../cli-error';
import { parseDurationMs } from '../../config/duration';
import { DEFAULT_USER_CERT_TTL_MS, issueUserCertificate } from '../../credentials/user-certificate';
import { buildKubeconfig } from '../../credentials/kubeconfig';
import { defaultStateDir, readStackDescriptor } from '../../dev/stack-descriptor';
import { loadOrCreatePki } from '../../pki/kubegate-pki';

const HELP = `Usage: kubegate kubeconfig --user NAME [--group G]... [--ttl DURATION] [-o FILE] [--state-dir DIR]

Writes a kubeconfig with a short-lived client certificate for NAME and one context per
cluster behind the edge. Without -o it is printed on standard output.

Options:
  --user NAME        the user the certificate names (required)
  --group G          a group the user belongs to; repeat for several
  --ttl DURATION     certificate lifetime, e.g. 30m, 8h (default 8h, at most 24h)
  --cluster NAME     only this cluster; repeat for several (default: all)
  -o, --output FILE  write here (mode 0600) instead of standard output
  --state-dir DIR    the local stack's state directory (default .state or $KUBEGATE_STATE_DIR)
`;

export const kubeconfigCommand = {
  summary: 'issue a kubeconfig with a short-lived client certificate',
  async run(args: string[]): Promise<number> {
    const { values } = parseOptions(args, {
      user: { type: 'string' },
      group: { type: 'string', multiple: true },
      ttl: { type: 'string' },
      cluster: { type: 'string', multiple: true },
      output: { type: 'string', short: 'o' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (!values.user) throw new UsageError('--user is required');
    const ttlMs = values.ttl ? parseDurationMs(values.ttl) : DEFAULT_USER_CERT_TTL_MS;
    const stateDir = path.resolve(values['state-dir'] ?? defaultStateDir());
    const stack = readStackDescriptor(stateDir);
    const known = stack.clusters.map((c) => c.name);
    const wanted = values.cluster ?? known;
    const unknown = wanted.filter((c) => !known.includes(c));
    if (unknown.length > 0) throw new UsageError(`unknown cluster ${unknown.join(', ')}; the edge serves: ${known.join(', ') || 'none'}`);
    if (wanted.length === 0) throw new UsageError('the edge serves no cluster yet, so there is nothing to put in a kubeconfig');
    const now = new Date();
    const pki = loadOrCreatePki({ stateDir, now });
    const cert = issueUserCertificate(pki.userCa, { user: values.user, groups: values.group ?? [], ttlMs, now });
    const text = buildKubeconfig({
      edgeUrl: stack.edgeUrl,
      edgeCaPem: pki.servingCa.certPem,
      user: values.user,
      clientCertPem: cert.certPem,
      clientKeyPem: cert.keyPem,
      clusters: wanted,
    });
    if (values.output) {
      fs.writeFileSync(values.output, text, { mode: 0o600 });
      process.stderr.write(`wrote ${values.output}: user ${values.user}, ${wanted.length} context(s), valid until ${new Date(now.getTime() + ttlMs).toISOString()}\n`);
    } else {
      process.stdout.write(text);
    }
    return 0;
  },
};
