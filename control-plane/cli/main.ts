#!/usr/bin/env node
/**
 * The kubegate command. Each subcommand lives in its own file under commands/; this file only
 * dispatches and turns errors into exit codes: 2 for a usage mistake, 1 for anything else.
 * A checkout's `./kubegate` runs dev/cli/main.ts instead: these commands plus `dev`, which
 * starts the local stack and has no place in an installed kubegate.
 */
import { UsageError } from './cli-error';
import { kubeconfigCommand } from './commands/kubeconfig';
import { userCommand } from './commands/user';
import { groupCommand } from './commands/group';
import { policyCommand } from './commands/policy';
import { revokeCommand } from './commands/revoke';
import { breakglassCommand } from './commands/breakglass';
import { sessionCommand } from './commands/session';
import { clusterCommand } from './commands/clusters';
import { whoamiCommand } from './commands/whoami';
import { auditCommand } from './commands/audit';
import { manifestsCommand } from './commands/manifests';
import { chartCommand } from './commands/chart';

export interface Command {
  readonly summary: string;
  /** A command group's subcommands (`user create`, ...); absent for a command without. */
  readonly subcommands?: readonly string[];
  run(args: string[]): Promise<number>;
}

/** Every command, by name; tests walk it to check each one's output. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  kubeconfig: kubeconfigCommand,
  user: userCommand,
  group: groupCommand,
  policy: policyCommand,
  revoke: revokeCommand,
  breakglass: breakglassCommand,
  session: sessionCommand,
  cluster: clusterCommand,
  whoami: whoamiCommand,
  audit: auditCommand,
  manifests: manifestsCommand,
  chart: chartCommand,
};

function usage(commands: Readonly<Record<string, Command>>): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return ['Usage: kubegate <command> [options]', '', 'Commands:', ...lines, '', "Run 'kubegate <command> --help' for a command's options."].join('\n');
}

export function main(argv: string[]): Promise<number> {
  return runCommands(COMMANDS, argv);
}

/** Runs the command `argv` names from `commands`, and says what the exit code should be. */
export async function runCommands(commands: Readonly<Record<string, Command>>, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage(commands) + '\n');
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`kubegate: unknown command "${name}"\n\n${usage(commands)}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`kubegate ${name}: ${err.message}\n`);
      return 2;
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`kubegate ${name}: ${e.message}${e.code ? ` (${e.code})` : ''}\n`);
    if (process.env.KUBEGATE_DEBUG) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
