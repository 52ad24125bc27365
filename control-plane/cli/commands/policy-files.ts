/**
 * Policy files as the CLI reads them from disk: files named on the command line, and every
 * *.yaml / *.yml under directories named (recursively, in name order, skipping hidden
 * entries). Each file is named by its path relative to the working directory, so error lines
 * (`file:line:col: CODE message`) open in editors and CI annotations, and the names sent to
 * the API are the ones reviewers see in the repository when run from its root.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PolicyFile } from '../../../policies/src';

export class PolicyFilesError extends Error {
  readonly code = 'ERR_POLICY_FILES';
  constructor(message: string) {
    super(message);
    this.name = 'PolicyFilesError';
  }
}

const POLICY_FILE = /\.ya?ml$/i;

export function readPolicyFiles(paths: readonly string[], cwd: string = process.cwd()): PolicyFile[] {
  const found: string[] = [];
  for (const given of paths) {
    const abs = path.resolve(cwd, given);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(abs);
    } catch {
      throw new PolicyFilesError(`${given} does not exist`);
    }
    if (stat.isDirectory()) {
      const inDir = walk(abs);
      if (inDir.length === 0) throw new PolicyFilesError(`${given} holds no policy files (*.yaml, *.yml)`);
      found.push(...inDir);
    } else {
      found.push(abs);
    }
  }
  const unique = [...new Set(found)];
  return unique.map((abs) => {
    const rel = path.relative(cwd, abs) || path.basename(abs);
    const fileName = rel.split(path.sep).join('/');
    try {
      return { fileName, text: fs.readFileSync(abs, 'utf8') };
    } catch (err) {
      throw new PolicyFilesError(`cannot read ${fileName}: ${(err as Error).message}`);
    }
  });
}

function walk(dir: string): string[] {
  const out: string[] = [];
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(full));
    else if (e.isFile() && POLICY_FILE.test(e.name)) out.push(full);
  }
  return out;
}
