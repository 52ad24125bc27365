/**
 * Effects of two props together, which the one-variant-at-a-time derivation does not see: for
 * every two variants of different props of each chart, the tree as it renders under both must
 * be the template of the construct's synthesis with both (pair-check.ts). The hub's one known
 * such effect (NodePort without a tunnel address) is refused by its chart instead; the check
 * itself finds it when that refusal is not declared.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pairMismatches } from '../../constructs/helm/pair-check';
import { agentChartSource } from '../../constructs/helm/agent-chart-source';
import { hubChartSource } from '../../constructs/helm/hub-chart-source';
import { propDocs } from '../../constructs/helm/prop-docs';
import type { ChartSource } from '../../constructs/helm/chart-source';
import { projectRoot } from '../../control-plane/proto/project-root';

// Some two thousand syntheses of the hub, each with a dozen or two edge replicas: minutes on a busy machine.
jest.setTimeout(300_000);

const docsOf = (source: ChartSource) => propDocs(fs.readFileSync(path.join(projectRoot(), source.sourceFile), 'utf8'), source.propsInterface);

test('the agent chart: every two variants together render what the construct makes', () => {
  expect(pairMismatches(agentChartSource, docsOf(agentChartSource))).toEqual([]);
});

test('the hub chart: every two variants together render what the construct makes, but for the pair its chart refuses', () => {
  expect(pairMismatches(hubChartSource, docsOf(hubChartSource))).toEqual([]);
});

test('without its refusal, the check finds the NodePort and tunnel address interplay', () => {
  const unguarded: ChartSource = { ...hubChartSource, refusals: hubChartSource.refusals!.filter((r) => !r.covers) };
  const found = pairMismatches(unguarded, docsOf(hubChartSource), 1);
  expect(found).toEqual([{ variants: ['edgeTunnelAddress absent', 'serviceType = "NodePort"'], at: expect.stringMatching(/config\.yaml.*nodePorts\.tunnel/) }]);
});
