/**
 * `kubegate dev images --registry HOST:PORT`: builds kubegate's images from this checkout (no
 * Docker daemon) and pushes them to a registry, then prints each image's reference by digest
 * and writes them, with what each image holds, to a results file a deployment can read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../control-plane/log/logger';
import { projectRoot } from '../toolchain/tools';
import { ensureToolchain } from './ensure-toolchain';
import { buildImages, writeBuildResults } from '../images/build-images';

export async function images(registry: string, resultsFile: string): Promise<number> {
  const toolchain = await ensureToolchain();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-image-build-'));
  try {
    const built = await buildImages({ crane: toolchain.crane, registry, projectRoot: projectRoot(), node: process.execPath, envoy: toolchain.envoy, workDir, logger: createLogger('images') });
    writeBuildResults(resultsFile, built);
    for (const image of built) process.stdout.write(`${image.name}\t${image.reference}\n`);
    process.stderr.write(`wrote ${resultsFile}\n`);
    return 0;
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}
