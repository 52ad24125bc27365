/**
 * `kubegate chart agent --out DIR`: writes a Helm chart generated from the same construct
 * `kubegate manifests agent` prints (constructs/helm explains how), for those who deploy with
 * Helm: `helm install kubegate-agent DIR -f values.yaml`. Nothing is contacted. An existing,
 * non-empty DIR is only overwritten with --force.
 */
import * as path from 'node:path';
import { chartFiles } from '../../../constructs/helm/chart-files';
import { CHART_SOURCES, chartSource } from '../../../constructs/helm/chart-sources';
import { ChartOutDirError, UnknownChartError } from '../../../constructs/helm/chart-errors';
import { writeChart } from '../../../constructs/helm/write-chart';
import { UsageError } from '../cli-error';
import { parseOptions } from '../parse-options';

const help = () => `Usage: kubegate chart <${Object.keys(CHART_SOURCES).join('|')}> --out DIR [--force]

Writes a Helm chart generated from the construct 'kubegate manifests' uses: Chart.yaml,
values.yaml (every prop, documented), values.schema.json (the construct's own rules) and
templates/. Install it with: helm install NAME DIR -f my-values.yaml

  --out DIR   where to write the chart (created if missing)
  --force     replace the chart in DIR if it is not empty
`;

export const chartCommand = {
  summary: `write a Helm chart generated from a construct (${Object.keys(CHART_SOURCES).join(', ')})`,
  subcommands: Object.keys(CHART_SOURCES),
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseOptions(args, { out: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, true);
    if (values.help) {
      process.stdout.write(help());
      return 0;
    }
    const [what, ...extra] = positionals;
    if (what === undefined) throw new UsageError(`say which chart: ${Object.keys(CHART_SOURCES).join(', ')}; see --help`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (!values.out) throw new UsageError('--out DIR is required');
    const dir = path.resolve(values.out);
    try {
      writeChart(dir, chartFiles(chartSource(what)), values.force ?? false);
    } catch (err) {
      if (err instanceof UnknownChartError || err instanceof ChartOutDirError) throw new UsageError(err.message);
      throw err;
    }
    process.stdout.write(`wrote the ${what} chart to ${dir}\n`);
    return 0;
  },
};
