/**
 * Commands with subcommands (`kubegate user create`, `kubegate policy validate`, ...): one
 * table per command, `--help` at either level, and an unknown subcommand as a usage error that
 * lists the valid ones.
 */
import { UsageError } from '../cli-error';

export interface Subcommand {
  readonly summary: string;
  run(args: string[]): Promise<number>;
}

export interface CommandGroup {
  readonly summary: string;
  /** The subcommands' names, in the order help lists them. */
  readonly subcommands: readonly string[];
  run(args: string[]): Promise<number>;
}

export function commandGroup(name: string, summary: string, subcommands: Readonly<Record<string, Subcommand>>): CommandGroup {
  const help = () =>
    [
      `Usage: kubegate ${name} <subcommand> [options]`,
      '',
      `${summary.charAt(0).toUpperCase()}${summary.slice(1)}.`,
      '',
      'Subcommands:',
      ...Object.entries(subcommands).map(([n, s]) => `  ${n.padEnd(14)} ${s.summary}`),
      '',
      `Run 'kubegate ${name} <subcommand> --help' for its options.`,
      '',
    ].join('\n');
  return {
    summary,
    subcommands: Object.keys(subcommands),
    async run(args) {
      const [sub, ...rest] = args;
      if (sub === undefined) throw new UsageError(`a subcommand is required: ${Object.keys(subcommands).join(', ')}; see --help`);
      if (sub === '--help' || sub === '-h' || sub === 'help') {
        process.stdout.write(help());
        return 0;
      }
      const command = subcommands[sub];
      if (!command) throw new UsageError(`unknown subcommand "${sub}"; use one of: ${Object.keys(subcommands).join(', ')}`);
      return command.run(rest);
    },
  };
}

/** Exactly `count` positional arguments, named in the message when missing or extra. */
export function positionals(given: readonly string[], names: readonly string[]): string[] {
  if (given.length < names.length) throw new UsageError(`${names.slice(given.length).join(' and ')} ${names.length - given.length > 1 ? 'are' : 'is'} required; see --help`);
  if (given.length > names.length) throw new UsageError(`unexpected argument "${given[names.length]}"; see --help`);
  return [...given];
}
