/**
 * Checks a toolchain binary before anything is started, so a missing build is reported as
 * such instead of as a confusing spawn error halfway through startup.
 */
import * as fs from 'node:fs';
import { BinaryMissingError } from './errors';

export function assertExecutable(component: string, file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new BinaryMissingError(component, file);
  }
  if (!stat.isFile()) throw new BinaryMissingError(component, file, 'is not a file');
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new BinaryMissingError(component, file, 'is not executable');
  }
}
