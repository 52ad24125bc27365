/**
 * A local OCI registry for the images kubegate builds: go-containerregistry's registry
 * (`crane registry serve`), blobs on disk, on loopback. Tests push kubegate's images to it and
 * nodes pull from it, as they would from a production registry.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import type { Logger } from '../../control-plane/log/logger';
import type { ManagedProcess } from '../process/managed-process';
import { startReadyProcess } from '../process/start-ready-process';
import { getFreePort, LOOPBACK } from '../process/free-port';

export interface LocalRegistry {
  /** host:port, as image references name it. */
  readonly address: string;
  stop(): Promise<void>;
}

/** Resolves once the registry answers GET /v2/ (the distribution API's version check). */
export async function startLocalRegistry(props: { readonly crane: string; readonly dir: string; readonly logger: Logger; readonly port?: number }): Promise<LocalRegistry> {
  fs.mkdirSync(path.join(props.dir, 'blobs'), { recursive: true });
  const port = props.port ?? (await getFreePort());
  const address = `${LOOPBACK}:${port}`;
  const proc: ManagedProcess = await startReadyProcess(
    {
      component: 'registry',
      binary: props.crane,
      args: ['registry', 'serve', '--address', address, '--disk', path.join(props.dir, 'blobs')],
      logFile: path.join(props.dir, 'registry.log'),
      logger: props.logger,
    },
    { url: `http://${address}/v2/`, check: () => versionCheck(address), timeoutMs: 15_000 },
  );
  props.logger.info('local registry serving', { address });
  return {
    address,
    stop: async () => {
      await proc.stop();
    },
  };
}

function versionCheck(address: string): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get(`http://${address}/v2/`, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? null : `GET /v2/ answered ${res.statusCode}`);
    });
    req.on('error', (err) => resolve(err.message));
    req.setTimeout(2000, () => req.destroy(new Error('no answer in 2 s')));
  });
}
