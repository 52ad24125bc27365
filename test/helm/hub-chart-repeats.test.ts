/**
 * The hub's edge makes a tunnel Service and a tunnel address per replica, replica i at the first
 * one's port + i: the chart's one repeat (a range over edge.replicas). `helm template` must
 * render what `kubegate manifests hub` prints with one, two and three replicas, behind
 * LoadBalancers (the ports grow) and NodePorts (the fixed nodePorts grow, or none is fixed),
 * the tunnel address given or derived, and the config's addresses must be one per replica.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { hubChartSource } from '../../constructs/helm/hub-chart-source';
import { runCli } from '../cli/run-cli';
import { manifestsFlags, objectsByIdentity, type Helm } from './helm-command';
import { writtenChart, type WrittenChart } from './written-chart-fixture';
import { HUB_REQUIRED_VALUES } from './hub-required-values';

jest.setTimeout(120_000);

const REQUIRED = HUB_REQUIRED_VALUES;

let chart: WrittenChart;
let helm: Helm;

beforeAll(() => {
  chart = writtenChart(hubChartSource);
  ({ helm } = chart);
});
afterAll(() => chart?.stop());

type Service = { kind: string; metadata: { name: string }; spec: { type: string; selector: Record<string, string>; ports: { port: number; nodePort?: number }[] } };
type ConfigSecret = { kind: string; metadata: { name: string }; stringData: { 'config.yaml': string } };

const LOAD_BALANCER = (replicas: number) => ({ edge: { replicas } });
const LOAD_BALANCER_ELSEWHERE = (replicas: number) => ({ edge: { replicas }, ports: { tunnel: 19004 }, edgeTunnelAddress: 'tunnel.example.com:7000' });
const NODE_PORTS = (replicas: number) => ({ edge: { replicas }, serviceType: 'NodePort', nodePorts: { https: 30443, tunnel: 30444 }, edgeTunnelAddress: '203.0.113.9:30444' });
const ALLOCATED = (replicas: number) => ({ edge: { replicas }, serviceType: 'NodePort', edgeTunnelAddress: '[2001:db8::9]:31000', serviceAnnotations: { team: 'platform' } });

describe.each<[string, (replicas: number) => Record<string, unknown>, (i: number) => { port: number; nodePort?: number; address: number }, number[]]>([
  ['LoadBalancer, the tunnel address derived', LOAD_BALANCER, (i) => ({ port: 18004 + i, address: 18004 + i }), [1, 2, 3]],
  ['LoadBalancer on another tunnel port, the tunnel address given', LOAD_BALANCER_ELSEWHERE, (i) => ({ port: 19004 + i, address: 7000 + i }), [1, 2, 3]],
  ['NodePort with a fixed nodePorts.tunnel', NODE_PORTS, (i) => ({ port: 18004, nodePort: 30444 + i, address: 30444 + i }), [1, 2, 3]],
  // Allocated nodePorts serve one replica only: member clusters could not know the others' (refused below).
  ['NodePort, nodePorts allocated, by IPv6, annotated', ALLOCATED, (i) => ({ port: 18004, address: 31000 + i }), [1]],
])('%s', (_what, change, expected, counts) => {
  test.each(counts)('edge.replicas = %i: helm template renders what kubegate manifests prints', async (replicas) => {
    const values = { ...REQUIRED, ...change(replicas) };
    const rendered = await helm.run(['template', 'kubegate-hub', chart.chartDir, '-f', chart.valuesFile(values)]);
    expect(rendered.stderr).toBe('');
    expect(rendered.code).toBe(0);
    const printed = await runCli(['manifests', 'hub', ...manifestsFlags(values, chart.dir)]);
    expect(printed.stderr).toBe('');
    expect(printed.code).toBe(0);
    const fromHelm = objectsByIdentity(rendered.stdout);
    expect(Object.keys(fromHelm).sort()).toEqual(Object.keys(objectsByIdentity(printed.stdout)).sort());
    expect(fromHelm).toEqual(objectsByIdentity(printed.stdout));

    // What the construct makes, as the chart renders it: a tunnel Service per replica, selecting its pod ...
    const objects = Object.values(fromHelm) as (Service | ConfigSecret)[];
    const tunnels = objects.filter((o): o is Service => o.kind === 'Service' && o.metadata.name.startsWith('kubegate-edge-tunnel-'));
    expect(tunnels.map((t) => [t.metadata.name, t.spec.selector['statefulset.kubernetes.io/pod-name'], t.spec.ports.map((p) => ({ port: p.port, ...(p.nodePort ? { nodePort: p.nodePort } : {}) }))])).toEqual(
      Array.from({ length: replicas }, (_, i) => {
        const { address: _address, ...port } = expected(i);
        return [`kubegate-edge-tunnel-${i}`, `kubegate-edge-${i}`, [port]];
      }),
    );
    // ... and the controller's config names each replica's tunnel address.
    const config = objects.find((o): o is ConfigSecret => o.kind === 'Secret' && o.metadata.name === 'kubegate-controller-config')!;
    const addresses = (parse(config.stringData['config.yaml']) as { agents: { edgeTunnelAddresses: { port: number }[] } }).agents.edgeTunnelAddresses;
    expect(addresses.map((a) => a.port)).toEqual(Array.from({ length: replicas }, (_, i) => expected(i).address));
  });
});

test('several replicas behind allocated nodePorts: the chart and the construct both refuse, naming nodePorts.tunnel', async () => {
  const values = { ...REQUIRED, ...ALLOCATED(2) };
  const rendered = await helm.run(['template', 'kubegate-hub', chart.chartDir, '-f', chart.valuesFile(values)]);
  expect(rendered.code).not.toBe(0);
  expect(rendered.stderr).toMatch(/nodePorts\.tunnel: is required with serviceType NodePort and more than one edge replica/);
  const printed = await runCli(['manifests', 'hub', ...manifestsFlags(values, chart.dir)]);
  expect(printed.code).not.toBe(0);
  expect(printed.stderr).toMatch(/nodePorts\.tunnel: is required with serviceType NodePort and 2 edge replicas/);
});

test('the tunnel Services are one template, a range over edge.replicas with the ordinal added', () => {
  const templates = fs.readdirSync(path.join(chart.chartDir, 'templates'));
  const file = templates.find((f) => /^\d+-service-kubegate-edge-tunnel-i\.yaml$/.test(f));
  expect(file).toBeDefined();
  const text = fs.readFileSync(path.join(chart.chartDir, 'templates', file!), 'utf8');
  expect(text).toContain('{{- range $i := until (int $.Values.edge.replicas) }}\n---\n');
  expect(text).toContain('(add $.Values.ports.tunnel $i)');
  expect(text).toContain('(add $.Values.nodePorts.tunnel $i)');
  expect(templates.filter((f) => f.includes('tunnel'))).toEqual([file]);
});
