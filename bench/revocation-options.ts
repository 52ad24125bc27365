/**
 * Why: the revocation benchmark's command line, read once and checked twice: the lists it
 * repeats the benchmark over when it starts, and the counts of each run when that run starts
 * (so a run of several reports which one a bad count stopped).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_USER_SHARDS } from '../control-plane/translator/input';
import { XDS_PROTOCOLS, type XdsProtocol } from '../control-plane/envoy/bootstrap';
import { isUserShardCount } from '../control-plane/identity/user-identity';

export type Method = 'revoke' | 'lost-access' | 'cli-revoke';

export type Options = ReturnType<typeof parseOptions>;

export function parseOptions() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '50' },
      'kubectl-users': { type: 'string', default: '16' },
      // A stream not closed this long after its user lost access counts as not closed.
      'close-timeout-ms': { type: 'string', default: '15000' },
      rounds: { type: 'string', default: '10' },
      'lost-access-rounds': { type: 'string', default: '10' },
      'cli-rounds': { type: 'string', default: '5' },
      'background-users': { type: 'string', default: '0' },
      'background-certified': { type: 'string', default: '0' },
      'user-shards': { type: 'string', default: String(DEFAULT_USER_SHARDS) },
      'xds-protocol': { type: 'string', default: 'delta' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run bench:revocation -- [--users 50] [--kubectl-users 16] [--rounds 10] [--lost-access-rounds 10] [--cli-rounds 5]\n' +
        '  [--background-users 0] [--background-certified 0] [--close-timeout-ms 15000] [--user-shards 16[,1,...]] [--xds-protocol delta[,sotw]]\n' +
        'See the header of bench/revocation.ts and bench/README.md.\n',
    );
    process.exit(0);
  }
  const userShards = values['user-shards'].split(',').map(Number);
  if (userShards.some((n) => !isUserShardCount(n))) throw new Error(`--user-shards: each must be a power of two from 1 to 256, not ${values['user-shards']}`);
  const xdsProtocols = values['xds-protocol'].split(',') as XdsProtocol[];
  if (xdsProtocols.some((p) => !XDS_PROTOCOLS.includes(p))) throw new Error(`--xds-protocol: each must be one of ${XDS_PROTOCOLS.join(', ')}, not ${values['xds-protocol']}`);
  return { values, userShards, xdsProtocols };
}

/** One run's counts and its plan of rounds, each method with its number of rounds. */
export function runSettings(values: Options['values']) {
  const users = Number(values.users);
  const kubectlUsers = Number(values['kubectl-users']);
  const closeTimeoutMs = Number(values['close-timeout-ms']);
  const plan: Array<[Method, number]> = [
    ['revoke', Number(values.rounds)],
    ['lost-access', Number(values['lost-access-rounds'])],
    ['cli-revoke', Number(values['cli-rounds'])],
  ];
  const background = Number(values['background-users']);
  const backgroundCertified = Number(values['background-certified']);
  const counts = [users, kubectlUsers, background, backgroundCertified, closeTimeoutMs, ...plan.map(([, n]) => n)];
  if (counts.some((n) => !Number.isInteger(n) || n < 0)) throw new Error('every count must be a whole number');
  if (backgroundCertified > background) throw new Error('--background-certified cannot exceed --background-users');
  const victims = plan.reduce((s, [, n]) => s + n, 0);
  if (users < victims + 2) throw new Error(`--users must be at least the number of rounds plus 2 (${victims + 2}): each round takes one user's access, and some must stay`);
  if (kubectlUsers > users) throw new Error('--kubectl-users cannot exceed --users');
  return { users, kubectlUsers, closeTimeoutMs, plan, background, backgroundCertified };
}
