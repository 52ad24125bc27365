#!/usr/bin/env node
/**
 * The kubegate command as a checkout runs it (`./kubegate`): every command of the installed
 * kubegate (control-plane/cli/main.ts) plus `dev`, which starts, reports and stops the local
 * stack. `dev` lives with the rest of the development harness, so nothing an installed
 * kubegate ships imports the harness.
 */
import { COMMANDS, runCommands, type Command } from '../../control-plane/cli/main';
import { devCommand } from './dev';

/** Every command `./kubegate` knows, by name; tests walk it to check each one's output. */
export const CHECKOUT_COMMANDS: Readonly<Record<string, Command>> = { ...COMMANDS, dev: devCommand };

export function main(argv: string[]): Promise<number> {
  return runCommands(CHECKOUT_COMMANDS, argv);
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
