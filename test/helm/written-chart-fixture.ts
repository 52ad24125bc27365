/**
 * A chart generated from a construct and written to a temporary directory, with the real helm
 * (its homes under that directory too) and a helper that writes a values file there: what every
 * chart test starts from.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { chartFiles } from '../../constructs/helm/chart-files';
import type { ChartSource } from '../../constructs/helm/chart-source';
import { writeChart } from '../../constructs/helm/write-chart';
import { helmCommand, type Helm } from './helm-command';

export interface WrittenChart {
  readonly dir: string;
  readonly chartDir: string;
  readonly helm: Helm;
  /** Writes `values` as a new YAML file beside the chart and returns its path. */
  valuesFile(values: object): string;
  stop(): void;
}

export function writtenChart(source: ChartSource, kubeconfig?: string): WrittenChart {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kubegate-${source.name}-chart-`));
  const chartDir = path.join(dir, 'chart');
  writeChart(chartDir, chartFiles(source), false);
  const helm = helmCommand(kubeconfig);
  let files = 0;
  return {
    dir,
    chartDir,
    helm,
    valuesFile(values) {
      const file = path.join(dir, `values-${++files}.yaml`);
      fs.writeFileSync(file, stringify(values));
      return file;
    },
    stop() {
      helm.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
