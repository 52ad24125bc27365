/**
 * Repeats on a small construct of the generator's own: a StatefulSet whose replicas each get a
 * Service (port + i, nodePort + i), a `--peer` flag (a pod's DNS name) and an entry of a YAML
 * peers list. Declared as a repeat of `replicas`, the chart renders what the construct makes
 * for one, two and three replicas, and the pair check finds nothing; what a `range` over the
 * count cannot make (a replica's numbers growing by 2, replica 0 named after the count, one
 * item more than the count) or an undeclared repeat is refused, not templated wrongly.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { chartFiles } from '../../constructs/helm/chart-files';
import type { ChartSource } from '../../constructs/helm/chart-source';
import { ChartShapeUnsupportedError } from '../../constructs/helm/chart-errors';
import { pairMismatches } from '../../constructs/helm/pair-check';
import { propDocs } from '../../constructs/helm/prop-docs';
import { writeChart } from '../../constructs/helm/write-chart';
import { helmCommand, objectsByIdentity, type Helm } from './helm-command';

jest.setTimeout(60_000);

const FLEET_SOURCE = `
export interface FleetProps {
  /** The app's name. */
  readonly name: string;
  /** Pods, each with a Service of its own. @default 1 */
  readonly replicas?: number;
  /** The first pod's port; pod i's is port + i. @default 7000 */
  readonly port?: number;
  /** How the Services are exposed. @default 'ClusterIP' */
  readonly serviceType?: 'ClusterIP' | 'NodePort';
  /** With NodePort, the first pod's nodePort; pod i's is nodePort + i. @default 30100 */
  readonly nodePort?: number;
}
`;

const FLEET_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$' },
    replicas: { type: 'integer', minimum: 1, maximum: 50 },
    port: { type: 'integer', minimum: 1024, maximum: 60000 },
    serviceType: { type: 'string', enum: ['ClusterIP', 'NodePort'] },
    nodePort: { type: 'integer', minimum: 30000, maximum: 32000 },
  },
  required: ['name'],
  additionalProperties: false,
};

interface Fleet {
  name: string;
  replicas?: number;
  port?: number;
  serviceType?: string;
  nodePort?: number;
}

/** How pod i's port, Service name and count of Services follow from the props: the construct's choices a test may bend. */
interface Shape {
  port(p: Fleet, i: number): number;
  serviceName(p: Fleet, i: number): string;
  services(p: Fleet): number;
}

const PLAIN: Shape = { port: (p, i) => (p.port ?? 7000) + i, serviceName: (p, i) => `${p.name}-${i}`, services: (p) => p.replicas ?? 1 };

function fleet(p: Fleet, shape: Shape = PLAIN): unknown[] {
  const n = p.replicas ?? 1;
  const pods = Array.from({ length: n }, (_, i) => i);
  const nodePort = p.serviceType === 'NodePort';
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: p.name, namespace: 'fleet' },
      spec: { replicas: n, serviceName: `${p.name}-pods`, template: { spec: { containers: [{ name: 'app', args: [`--replicas=${n}`, ...pods.map((i) => `--peer=${p.name}-${i}.${p.name}-pods:${shape.port(p, i)}`), '--verbose'] }] } } },
    },
    ...Array.from({ length: shape.services(p) }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: shape.serviceName(p, i), namespace: 'fleet' },
      spec: { type: p.serviceType ?? 'ClusterIP', selector: { 'statefulset.kubernetes.io/pod-name': `${p.name}-${i}` }, ports: [{ name: 'peer', port: shape.port(p, i), ...(nodePort ? { nodePort: (p.nodePort ?? 30100) + i } : {}) }] },
    })),
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${p.name}-peers`, namespace: 'fleet' }, data: { 'peers.yaml': stringify({ replicas: n, peers: pods.map((i) => ({ name: `${p.name}-${i}`, port: shape.port(p, i) })) }) } },
  ];
}

const fleetSource = (shape: Shape = PLAIN, repeats: readonly string[] = ['replicas']): ChartSource => ({
  name: 'fleet',
  description: 'a fleet',
  sourceFile: 'fleet.ts',
  propsInterface: 'FleetProps',
  schema: FLEET_SCHEMA,
  repeats,
  synth: (props) => fleet(props as unknown as Fleet, shape),
});

const generate = (source: ChartSource) => chartFiles(source, { sourceText: FLEET_SOURCE, version: '1' });

let dir: string;
let chartDir: string;
let helm: Helm;
let defaults: Record<string, unknown>;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-chart-repeats-'));
  chartDir = path.join(dir, 'fleet');
  writeChart(chartDir, generate(fleetSource()), false);
  defaults = parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  helm = helmCommand();
});
afterAll(() => {
  helm?.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.each<[string, Partial<Fleet>]>([
  ['ClusterIP, the default port', {}],
  ['NodePort, other ports', { serviceType: 'NodePort', port: 8000, nodePort: 31000 }],
])('%s', (_what, values) => {
  test.each([1, 2, 3])('replicas = %i: helm template renders what the construct makes', async (replicas) => {
    const file = path.join(dir, `v-${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, stringify({ name: 'shop', replicas, ...values }));
    const out = await helm.run(['template', 'fleet', chartDir, '-f', file]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const expected = fleet({ ...defaults, name: 'shop', replicas, ...values } as Fleet);
    expect(expected.filter((o) => (o as { kind: string }).kind === 'Service')).toHaveLength(replicas);
    expect(objectsByIdentity(out.stdout)).toEqual(objectsByIdentity(expected.map((o) => stringify(o)).join('---\n')));
  });
});

test('the Services are one template, a range over the count; the pair check finds nothing', () => {
  const templates = fs.readdirSync(path.join(chartDir, 'templates'));
  expect(templates.filter((f) => f.includes('service'))).toEqual(['01-service-name-i.yaml']);
  const text = fs.readFileSync(path.join(chartDir, 'templates', '01-service-name-i.yaml'), 'utf8');
  expect(text).toContain('{{- range $i := until (int $.Values.replicas) }}\n---\n');
  expect(text).toContain('port: {{ (add $.Values.port $i) | int }}');
  expect(pairMismatches(fleetSource(), propDocs(FLEET_SOURCE, 'FleetProps'))).toEqual([]);
});

const refusal = (source: ChartSource): ChartShapeUnsupportedError => {
  try {
    generate(source);
  } catch (e) {
    return e as ChartShapeUnsupportedError;
  }
  throw new Error('accepted');
};

test.each<[string, ChartSource, RegExp]>([
  ['numbers that grow by two per replica', fleetSource({ ...PLAIN, port: (p, i) => (p.port ?? 7000) + 2 * i }), /replicas: the construct repeats nothing by it that a range can make/],
  ['replica 0 named after the count', fleetSource({ ...PLAIN, serviceName: (p, i) => `${p.name}-${i}-of-${p.replicas ?? 1}` }), /replicas at 1 does not make the first 1 of the units it makes at \d+/],
  ['one Service more than the count', fleetSource({ ...PLAIN, services: (p) => (p.replicas ?? 1) + 1 }), /replicas repeats more items than its count/],
  ['a repeat the chart source does not declare', fleetSource(PLAIN, []), /depend on the props beyond what their sentinels show/],
])('a repeat a range cannot make is refused: %s', (_what, source, message) => {
  const err = refusal(source);
  expect(err).toBeInstanceOf(ChartShapeUnsupportedError);
  expect(err.code).toBe('ERR_CHART_SHAPE_UNSUPPORTED');
  expect(err.message).toMatch(message);
});
