/**
 * The toolchain (Envoy, etcd, kube-apiserver, ...) for `kubegate dev up`, installed only when
 * that command is about to start the stack. Why here and not in the `kubegate` wrapper: only the
 * command knows, once its options are parsed and checked, whether it will run anything. Help,
 * usage errors, `dev status`, `dev down` and every API command need none of it, and a fresh
 * machine's install is many minutes of Go builds that nobody asking for `--help` should wait for.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { loadToolchain, projectRoot, ToolchainMissingError, type Toolchain } from '../toolchain/tools';

export class ToolchainInstallError extends Error {
  readonly code = 'ERR_TOOLCHAIN_INSTALL';
  constructor(message: string) {
    super(message);
    this.name = 'ToolchainInstallError';
  }
}

/** toolchain/install.sh, whose progress lines go to our standard error. */
function runInstaller(env: NodeJS.ProcessEnv): Promise<void> {
  const script = path.join(projectRoot(), 'toolchain', 'install.sh');
  return new Promise((resolve, reject) => {
    const child = spawn(script, [], { env, stdio: ['ignore', process.stderr, process.stderr] });
    child.on('error', (err) => reject(new ToolchainInstallError(`could not run ${script}: ${err.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new ToolchainInstallError(`installing the toolchain failed (${signal ?? `exit code ${code}`}); its last log lines above say why`));
    });
  });
}

/**
 * The installed toolchain; when it is missing or was built for other versions than
 * toolchain/versions.env, runs the installer first. A complete install costs nothing more
 * than reading tools.json.
 */
export async function ensureToolchain(env: NodeJS.ProcessEnv = process.env): Promise<Toolchain> {
  try {
    return loadToolchain(env);
  } catch (err) {
    if (!(err instanceof ToolchainMissingError)) throw err;
    process.stderr.write(`the toolchain is not installed yet (${err.message.replace(/: run toolchain.*$/, '')}); installing it now (the first time takes several minutes)\n`);
  }
  await runInstaller(env);
  return loadToolchain(env);
}
