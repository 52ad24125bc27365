/**
 * The compiled JavaScript of a program the local stack starts as its own process (the agent,
 * which must run inside a firewalled site). Tests run TypeScript through ts-jest, but a child
 * process runs what `tsc` wrote to dist/, so the path is the same from source and from dist.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from './tools';

export function compiledEntry(relative: string): string {
  const file = path.join(projectRoot(), 'dist', relative);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: compile the project first (npx tsc -p tsconfig.json; ./run-tests and ./kubegate do it)`);
  return file;
}
