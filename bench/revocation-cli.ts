/**
 * Why: the cli-revoke rounds time `kubegate revoke` as an administrator runs it, a child process
 * of the compiled CLI; finding that CLI and running it is apart from the rounds themselves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';

/** `kubegate revoke` from the compiled CLI, when this build has it. */
export function cliPath(): string | null {
  const cli = path.join(__dirname, '..', 'control-plane', 'cli', 'main.js');
  const revoke = path.join(__dirname, '..', 'control-plane', 'cli', 'commands', 'revoke.js');
  return fs.existsSync(cli) && fs.existsSync(revoke) ? cli : null;
}

export function runCli(cli: string, args: string[]): Promise<{ code: number | null; output: string; exitedAt: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBEGATE_SKIP_TOOLCHAIN: '1' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output, exitedAt: performance.now() }));
  });
}
