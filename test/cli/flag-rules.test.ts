/**
 * Flag values are checked by their rules (flag-rules.ts, ajv) before any credential is read or
 * anything is sent: each mistake is a usage error (exit 2) naming the flag.
 */
import { UsageError } from '../../control-plane/cli/cli-error';
import { digits, flagRules, given, oneOf, positiveInteger, requiredText, wholeNumber } from '../../control-plane/cli/flag-rules';
import { outputFormat } from '../../control-plane/cli/commands/output';
import { runCli } from './run-cli';

const rules = flagRules(
  { decision: oneOf('--decision', ['allow', 'deny']), limit: positiveInteger('--limit'), policy: requiredText('--policy'), revision: digits('--revision', 'a revision number'), user: given('--user') },
  ['policy'],
);
const refusal = (values: object) => {
  try {
    rules(values);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  return undefined;
};

test('good values pass', () => {
  expect(refusal({ decision: 'allow', limit: '10', policy: 'p', revision: '3' })).toBeUndefined();
});

test.each([
  [{ policy: 'p', decision: 'perhaps' }, '--decision must be allow or deny, got "perhaps"'],
  [{ policy: 'p', limit: '0' }, '--limit must be a positive integer, got "0"'],
  [{ policy: 'p', limit: '1.5' }, '--limit must be a positive integer, got "1.5"'],
  [{}, '--policy is required; see --help'],
  [{ policy: '  ' }, '--policy is required; see --help'],
  [{ policy: 'p', revision: 'v2' }, '--revision "v2" is not a revision number'],
  [{ policy: 'p', user: '' }, '--user is required'],
  // The first problem in the order the rules list the flags.
  [{ limit: 'x', decision: 'maybe' }, '--decision must be allow or deny, got "maybe"'],
])('%j is refused', (values, message) => {
  expect(refusal(values)).toBe(message);
});

test('a positive integer beyond what a number holds exactly is refused with the same message', () => {
  expect(wholeNumber('12', '--limit', 5)).toBe(12);
  expect(wholeNumber(undefined, '--limit', 5)).toBe(5);
  expect(() => wholeNumber('9007199254740993', '--limit', 5)).toThrow(new UsageError('--limit must be a positive integer, got "9007199254740993"'));
});

test('-o is one of the formats the command offers', () => {
  expect(outputFormat(undefined, ['table', 'json'])).toBe('table');
  expect(outputFormat('json', ['table', 'json'])).toBe('json');
  expect(() => outputFormat('yaml', ['table', 'json'])).toThrow(new UsageError('-o yaml is not an output format here; use table or json'));
});

test.each([
  [['revoke'], 'kubegate revoke: --user is required\n'],
  [['kubeconfig', '--user', ''], 'kubegate kubeconfig: --user is required\n'],
  [['breakglass', 'request', '--policy', 'p', '--cluster', ' '], 'kubegate breakglass: --cluster is required; see --help\n'],
  [['breakglass', 'reject', 'bg-1'], 'kubegate breakglass: --reason is required; see --help\n'],
  [['audit', '--limit', '0'], 'kubegate audit: --limit must be a positive integer, got "0"\n'],
  [['audit', 'verify', '--from', 'first'], 'kubegate audit: --from must be a positive integer, got "first"\n'],
  [['audit', 'incomplete', '--limit=-3'], 'kubegate audit: --limit must be a positive integer, got "-3"\n'],
  [['policy', 'apply', 'policies', '--expected-revision', 'v2'], 'kubegate policy: --expected-revision "v2" is not a revision number\n'],
])('%j is a usage error before anything is read or sent', async (args, stderr) => {
  // No server, no kubeconfig: a rule that did not run first would fail on those instead.
  expect(await runCli([...args, '--server', 'https://127.0.0.1:1', '--kubeconfig', '/nonexistent/kubeconfig'])).toEqual({ code: 2, stdout: '', stderr });
});
