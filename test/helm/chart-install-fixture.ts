/**
 * What the chart install tests share: a local cluster (one kwok node), the chart generated from
 * a construct with its values file (written-chart-fixture.ts) and helm pointed at the cluster,
 * plus kubectl that throws on failure. One place, so the agent's and the hub's install tests
 * differ only in what they check.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { loadToolchain } from '../../dev/toolchain/tools';
import { silentLogger } from '../../control-plane/log/logger';
import type { ChartSource } from '../../constructs/helm/chart-source';
import type { Helm } from './helm-command';
import { writtenChart } from './written-chart-fixture';

export interface ChartInstallFixture {
  readonly chartDir: string;
  readonly valuesFile: string;
  readonly cluster: LocalCluster;
  readonly helm: Helm;
  kubectl(args: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startChartInstall(source: ChartSource, values: object, clusterName: string): Promise<ChartInstallFixture> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `kubegate-${source.name}-install-`));
  const cluster = await startLocalCluster({ name: clusterName, stateDir, toolchain: loadToolchain(), logger: silentLogger, controlPlane: 'full', nodes: 1 });
  let chart: ReturnType<typeof writtenChart>;
  try {
    chart = writtenChart(source, cluster.adminKubeconfigPath);
  } catch (err) {
    // No fixture is returned, so nothing else would stop the cluster just started.
    await cluster.stop();
    throw err;
  }
  return {
    chartDir: chart.chartDir,
    valuesFile: chart.valuesFile(values),
    cluster,
    helm: chart.helm,
    async kubectl(args) {
      const r = await cluster.kubectl(args);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    },
    async stop() {
      await cluster.stop();
      chart.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
