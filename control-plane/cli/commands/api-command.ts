/**
 * A subcommand that calls the admin API: its options plus the connection options, `--help`,
 * option values checked by their rules (flag-rules.ts), positional arguments checked by name,
 * and the client created only once the arguments are known to be right (a usage mistake is
 * reported before any credential is read).
 */
import type { ParseArgsConfig } from 'node:util';
import type { FlagCheck } from '../flag-rules';
import { parseOptions } from '../parse-options';
import type { ApiClient } from '../api-client';
import { CONNECTION_HELP, CONNECTION_OPTIONS, connect } from './api-connection';
import { positionals as checkPositionals, type Subcommand } from './subcommands';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<T extends Options> = ReturnType<typeof parseOptions<T & typeof CONNECTION_OPTIONS>>['values'];

export interface ApiSubcommandDef<T extends Options> {
  readonly summary: string;
  /** After "Usage: kubegate ", e.g. `user create NAME [--group G]...`. */
  readonly usage: string;
  /** What it does, for --help. */
  readonly description: string;
  readonly options: T;
  /** The options' help lines (without the connection options, which are added). */
  readonly optionsHelp?: string;
  /** Names of the required positional arguments, in order. @default [] */
  readonly positionals?: readonly string[];
  /** Whether the last positional may repeat (PATH...). @default false */
  readonly variadic?: boolean;
  /** What the option values must be (flag-rules.ts), checked before run. */
  readonly flagRules?: FlagCheck;
  run(values: Values<T>, args: string[], client: () => ApiClient): Promise<number>;
}

export function apiSubcommand<T extends Options>(def: ApiSubcommandDef<T>): Subcommand {
  const help = [
    `Usage: kubegate ${def.usage}`,
    '',
    wrap(def.description.trim()),
    '',
    ...(def.optionsHelp ? ['Options:', def.optionsHelp.replace(/\n+$/, ''), ''] : []),
    CONNECTION_HELP,
  ].join('\n');
  return {
    summary: def.summary,
    async run(args) {
      const { values, positionals } = parseOptions(args, { ...def.options, ...CONNECTION_OPTIONS }, true);
      if ((values as { help?: boolean }).help) {
        process.stdout.write(help);
        return 0;
      }
      def.flagRules?.(values);
      const names = def.positionals ?? [];
      const given = def.variadic && positionals.length >= names.length ? positionals : checkPositionals(positionals, names);
      return def.run(values as Values<T>, given, () => connect(values as Parameters<typeof connect>[0]));
    },
  };
}

/** Paragraphs written as one line are wrapped to `width` columns; others are kept as written. */
function wrap(text: string, width = 92): string {
  return text
    .split('\n\n')
    .map((paragraph) => {
      if (paragraph.includes('\n')) return paragraph;
      const lines: string[] = [];
      let line = '';
      for (const word of paragraph.split(' ')) {
        if (line && line.length + 1 + word.length > width) {
          lines.push(line);
          line = word;
        } else {
          line = line ? `${line} ${word}` : word;
        }
      }
      return [...lines, line].join('\n');
    })
    .join('\n\n');
}

/** A path segment for a name that may hold any character. */
export const seg = (name: string) => encodeURIComponent(name);
