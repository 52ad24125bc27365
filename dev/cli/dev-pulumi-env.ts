/**
 * `kubegate dev pulumi-env`: the shell exports that make `pulumi` the toolchain's CLI, offline,
 * with a PULUMI_HOME holding the Kubernetes provider and a file:// backend, both under
 * <state-dir>/pulumi. The passphrase that encrypts the stacks' secrets is the user's to set
 * (PULUMI_CONFIG_PASSPHRASE), so it is not printed.
 */
import * as path from 'node:path';
import { ensureToolchain } from './ensure-toolchain';
import { exportLines, preparePulumiHome } from '../pulumi/pulumi-environment';

export async function pulumiEnv(stateDir: string): Promise<number> {
  const toolchain = await ensureToolchain();
  const env = preparePulumiHome({ toolchain, home: path.join(stateDir, 'pulumi', 'home'), stateDir: path.join(stateDir, 'pulumi', 'state') });
  process.stdout.write(`${exportLines(env)}\n`);
  if (!process.env.PULUMI_CONFIG_PASSPHRASE) process.stderr.write('set PULUMI_CONFIG_PASSPHRASE too: it encrypts the stacks\' secrets (kubeconfigs) in stacks/Pulumi.<stack>.yaml\n');
  return 0;
}
