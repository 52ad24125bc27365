/**
 * What the stacks' dynamic providers talk to, real: a kube-apiserver standing for the hub
 * cluster (where the controller keeps its admin kubeconfig and CA in Secrets) and the admin API
 * over HTTPS on a real store. `writeHubSecrets` plays the controller's first start.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiHarness } from '../../api/api-harness';
import { startLocalCluster, type LocalCluster } from '../../../dev/local-cluster/local-cluster';
import { loadToolchain } from '../../../dev/toolchain/tools';
import { silentLogger } from '../../../control-plane/log/logger';
import { ADMIN_KUBECONFIG_KEY, ADMIN_KUBECONFIG_SECRET, EDGE_XDS_CLIENT_KEYS, EDGE_XDS_CLIENT_SECRET } from '../../../control-plane/hub-secrets/hub-secrets';
import type { HubApiAccess } from '../../../stacks/hub-api/hub-api';

export const HUB_NAMESPACE = 'kubegate-system';
export const HUB_CA_PEM = '-----BEGIN CERTIFICATE-----\nhub internal CA (test)\n-----END CERTIFICATE-----\n';

export interface HubFixture {
  readonly dir: string;
  readonly cluster: LocalCluster;
  readonly api: ApiHarness;
  /** How the providers reach this hub. */
  readonly access: HubApiAccess;
  kubectl(args: readonly string[]): Promise<string>;
  /** The controller's Secrets: the admin kubeconfig and the edge's xDS client CA. */
  writeHubSecrets(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHubFixture(): Promise<HubFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-hub-fixture-'));
  const toolchain = loadToolchain();
  const [cluster, api] = await Promise.all([
    startLocalCluster({ name: 'hub', stateDir: path.join(dir, 'cluster'), toolchain, logger: silentLogger }),
    ApiHarness.start(),
  ]);
  const kubectl = async (args: readonly string[]) => {
    const r = await cluster.kubectl(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  return {
    dir,
    cluster,
    api,
    access: { kubeconfig: fs.readFileSync(cluster.adminKubeconfigPath, 'utf8'), namespace: HUB_NAMESPACE, apiUrl: api.server.url, waitMs: 20_000 },
    kubectl,
    async writeHubSecrets() {
      await kubectl(['create', 'namespace', HUB_NAMESPACE]);
      await kubectl(['-n', HUB_NAMESPACE, 'create', 'secret', 'generic', ADMIN_KUBECONFIG_SECRET, `--from-file=${ADMIN_KUBECONFIG_KEY}=${await api.kubeconfigFor('root')}`]);
      const ca = path.join(dir, 'ca.crt');
      fs.writeFileSync(ca, HUB_CA_PEM);
      await kubectl(['-n', HUB_NAMESPACE, 'create', 'secret', 'generic', EDGE_XDS_CLIENT_SECRET, `--from-file=${EDGE_XDS_CLIENT_KEYS.ca}=${ca}`]);
    },
    async stop() {
      await api.close();
      await cluster.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
