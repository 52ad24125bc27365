/**
 * The charts kubegate can generate, by the name `kubegate chart <name>` takes. A construct
 * gets a chart by one entry here and a ChartSource beside it.
 */
import { agentChartSource } from './agent-chart-source';
import { hubChartSource } from './hub-chart-source';
import type { ChartSource } from './chart-source';
import { UnknownChartError } from './chart-errors';

export const CHART_SOURCES: Readonly<Record<string, ChartSource>> = {
  agent: agentChartSource,
  hub: hubChartSource,
};

export function chartSource(name: string): ChartSource {
  const source = CHART_SOURCES[name];
  if (!source) throw new UnknownChartError(name, Object.keys(CHART_SOURCES));
  return source;
}
