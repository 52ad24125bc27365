/**
 * Why: the CLI, the install links and the Pulumi stacks all turn a construct into the
 * Kubernetes objects it stands for; this is that step, once: a fresh cdk8s chart, the
 * construct built into it, the chart's objects in the order to apply them.
 */
import { App, Chart } from 'cdk8s';
import type { KubeObject } from '../agent/kubernetes/kube-objects';

export function synthObjects(chartId: string, build: (chart: Chart) => void): KubeObject[] {
  const chart = new Chart(new App(), chartId);
  build(chart);
  return chart.toJson() as KubeObject[];
}
