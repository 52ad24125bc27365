/**
 * What a command's flag values must be, said the way kubegate says every input's rules: a JSON
 * Schema of the values util.parseArgs returns, checked by ajv (validation/schema-check.ts), each rule
 * with its message. The first problem, in the order the rules list the flags, is a usage error
 * (exit code 2) before anything is read or sent. Values a schema cannot judge (durations,
 * times) are read by their parsers after it.
 */
import { schemaCheck } from '../validation/schema-check';
import { UsageError } from './cli-error';

/** One flag's rule: a JSON Schema for its value, with its messages. */
export type FlagRule = Readonly<Record<string, unknown>>;

/** Checks parsed values; throws UsageError naming the first bad flag. */
export type FlagCheck = (values: object) => void;

/** The rules of a command's flags, by option name (`decision` for --decision). */
export function flagRules(rules: Readonly<Record<string, FlagRule>>, required: readonly string[] = []): FlagCheck {
  const check = schemaCheck({ type: 'object', properties: rules, required });
  return (values) => {
    const [issue] = check(values);
    if (issue) throw new UsageError(issue.message);
  };
}

/** One of `allowed`, e.g. `--decision must be allow or deny, got "perhaps"`. */
export function oneOf(flag: string, allowed: readonly string[]): FlagRule {
  return { enum: allowed, problems: { enum: `${flag} must be ${allowed.join(' or ')}, got "{text}"` } };
}

const notPositive = (flag: string) => `${flag} must be a positive integer, got "{text}"`;

/** A whole number of at least 1; that it fits a JavaScript number is checked by wholeNumber(). */
export function positiveInteger(flag: string): FlagRule {
  return { type: 'string', pattern: '^0*[1-9][0-9]*$', problems: { pattern: notPositive(flag) } };
}

/** A value that must be given and not empty: `--user is required`; list the flag in flagRules' `required` too. */
export function given(flag: string, problem = `${flag} is required`): FlagRule {
  return { type: 'string', minLength: 1, problems: { required: problem, minLength: problem } };
}

/** A value that must be given and not blank; list the flag in flagRules' `required` too. */
export function requiredText(flag: string, problem = `${flag} is required; see --help`): FlagRule {
  return { type: 'string', pattern: '\\S', problems: { required: problem, pattern: problem } };
}

/** Digits only: `--expected-revision "x" is not a revision number`. */
export function digits(flag: string, what: string): FlagRule {
  return { type: 'string', pattern: '^[0-9]+$', problems: { pattern: `${flag} "{text}" is not ${what}` } };
}

/**
 * The number a positiveInteger() flag holds, or `fallback` when it is not given. Digits beyond
 * what a JavaScript number holds exactly are refused with the schema's message.
 */
export function wholeNumber(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new UsageError(notPositive(flag).replace('{text}', value));
  return n;
}
