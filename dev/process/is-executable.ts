/** Whether a path is a regular file this process may execute (tool lookups on PATH and in known places). */
import * as fs from 'node:fs';

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
