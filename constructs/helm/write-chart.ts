/**
 * Writes a chart's files into a directory: a new or empty one, or, with force, one whose old
 * chart is replaced (templates/ emptied first, so an object the construct no longer makes does
 * not linger as a stale template).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChartOutDirError } from './chart-errors';

export function writeChart(dir: string, files: Readonly<Record<string, string>>, force: boolean): void {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    if (!force) throw new ChartOutDirError(dir);
    fs.rmSync(path.join(dir, 'templates'), { recursive: true, force: true });
  }
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}
