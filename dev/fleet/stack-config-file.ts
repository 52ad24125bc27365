/**
 * Why: Pulumi reads a stack's configuration from stacks/Pulumi.<stack>.yaml (Pulumi.yaml's
 * stackConfigDir). The lab rewrites that file whole for every configuration it tries, but must
 * keep the `encryptionsalt:` line `pulumi stack init` wrote there, or the stack's secrets could
 * no longer be read with its passphrase.
 */
import * as fs from 'node:fs';
import { stringify } from 'yaml';

export function writeStackConfigFile(file: string, config: Record<string, unknown>): void {
  const existing = fs.existsSync(file) ? (fs.readFileSync(file, 'utf8').match(/^encryptionsalt: .*$/m)?.[0] ?? '') : '';
  fs.writeFileSync(file, `${existing ? `${existing}\n` : ''}${stringify({ config })}`);
}
