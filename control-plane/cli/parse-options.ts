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
