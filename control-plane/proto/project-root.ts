/**
 * The directory kubegate runs from: the one holding control-plane/proto/envoy-extensions, the
 * protos kubegate keeps beside Envoy's (tsc does not copy .proto files to dist/, so compiled
 * code finds them from here). Found by walking up from this file, so it is the same from the
 * TypeScript sources (tests) and from dist/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'control-plane', 'proto', 'envoy-extensions'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find kubegate\'s directory (the one holding control-plane/proto/envoy-extensions)');
    dir = parent;
  }
  return dir;
}
