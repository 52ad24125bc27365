/**
 * How every kubegate command reads its command line: Node's own util.parseArgs, in strict mode
 * (an unknown option, or a value missing, is an error), with its errors made usage errors that
 * point at the command's --help. It is kept over commander or yargs: it comes with Node and is
 * maintained by Node's core team (no dependency to add or audit), its options give typed
 * values, and the help, subcommands and exit codes commands need are already the project's own
 * (api-command.ts, subcommands.ts, main.ts), which a framework would duplicate. What the values
 * must be is checked after it, by flag-rules.ts, with ajv like every other input.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-error';

/** util.parseArgs with its errors turned into UsageErrors that name the command's --help. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\. To specify.*$/, '')}; see --help`);
  }
}
