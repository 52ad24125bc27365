/**
 * Why: the authz benchmark's command line, read and checked before anything starts, so that
 * bench/authz-overhead.ts begins with the numbers it runs with.
 */
import { parseArgs } from 'node:util';
import { BENCH_USER_INDEX } from './authz-bench-user';

const numbers = (s: string, what: string) => {
  const list = s.split(',').map(Number);
  if (list.some((n) => !(n >= 0) || !Number.isFinite(n))) throw new Error(`${what} must be a list of non-negative numbers, got "${s}"`);
  return list;
};

export type AuthzOptions = ReturnType<typeof parseOptions>;

export function parseOptions() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '10000' },
      // Users holding a certificate, hence a filter chain at the edge (default: all of them).
      certified: { type: 'string' },
      'check-users': { type: 'string', default: '500' },
      'check-seconds': { type: 'string', default: '5' },
      'check-concurrency': { type: 'string', default: '1,16' },
      'check-connections': { type: 'string', default: '2' },
      'miss-fractions': { type: 'string', default: '0,0.1,1' },
      'in-process-decisions': { type: 'string', default: '100000' },
      requests: { type: 'string', default: '3000' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '1,8' },
    },
  });
  const users = Number(values.users);
  const checkUsers = Math.min(Number(values['check-users']), users);
  const certified = values.certified === undefined ? users : Number(values.certified);
  if (!(certified >= 0 && certified <= users) || !Number.isInteger(certified)) throw new Error(`--certified must be a whole number from 0 to --users (${users}), got "${values.certified}"`);
  const checkSeconds = Number(values['check-seconds']);
  const checkLevels = numbers(values['check-concurrency']!, '--check-concurrency');
  const checkConnections = Number(values['check-connections']);
  const missFractions = numbers(values['miss-fractions']!, '--miss-fractions');
  const inProcessDecisions = Number(values['in-process-decisions']);
  const requests = Number(values.requests);
  const rounds = Number(values.rounds);
  const levels = numbers(values.concurrency!, '--concurrency');
  if (!(users > BENCH_USER_INDEX) || !(checkUsers > 0) || !(checkSeconds > 0) || !(inProcessDecisions > 0) || !(requests > 0) || !(rounds > 0) || !(checkConnections > 0)) {
    throw new Error(`--users (more than ${BENCH_USER_INDEX}), --check-users, --check-seconds, --check-connections, --requests and --rounds must be positive numbers`);
  }
  if (missFractions.some((f) => f > 1) || checkLevels.some((c) => !(c >= 1)) || levels.some((c) => !(c >= 1))) {
    throw new Error('--miss-fractions are fractions from 0 to 1; concurrency levels are at least 1');
  }
  return { users, checkUsers, certified, checkSeconds, checkLevels, checkConnections, missFractions, inProcessDecisions, requests, rounds, levels };
}
