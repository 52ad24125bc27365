/**
 * The generator on small constructs of its own, for what the agent does not exercise but the
 * hub and later constructs will: an enum prop that changes a Service's shape, a boolean, a map
 * into annotations (a range over map entries), an optional Secret whose `data` is base64, a
 * nested object with defaults from an interface it extends. `helm template` must render what
 * the construct makes for the same values. And what cannot be templated is refused by name.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { chartFiles } from '../../constructs/helm/chart-files';
import type { ChartSource } from '../../constructs/helm/chart-source';
import { ChartPropUnsupportedError, ChartShapeUnsupportedError } from '../../constructs/helm/chart-errors';
import { propDocs } from '../../constructs/helm/prop-docs';
import { writeChart } from '../../constructs/helm/write-chart';
import { helmCommand, objectsByIdentity, type Helm } from './helm-command';

jest.setTimeout(60_000);

const TOY_SOURCE = `
interface Sizing {
  /** CPU request. @default '100m' */
  readonly cpu?: string;
}
export interface ToyProps {
  /** The app's name. */
  readonly name: string;
  /** Annotations of the ConfigMap. @default none */
  readonly annotations?: Readonly<Record<string, string>>;
  /** How the Service is exposed. @default 'ClusterIP' */
  readonly serviceType?: 'ClusterIP' | 'NodePort';
  /** Verbose logs. @default false */
  readonly debug?: boolean;
  /** Put in a Secret. @default no Secret */
  readonly password?: string;
  /** Sizing. */
  readonly sizing?: Sizing & {
    /** Pods. @default 1 */
    readonly replicas?: number;
  };
}
`;

const TOY_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$' },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    serviceType: { type: 'string', enum: ['ClusterIP', 'NodePort'] },
    debug: { type: 'boolean' },
    password: { type: 'string' },
    sizing: { type: 'object', properties: { cpu: { type: 'string' }, replicas: { type: 'integer', minimum: 1 } }, additionalProperties: false },
  },
  required: ['name'],
  additionalProperties: false,
};

interface Toy {
  name: string;
  annotations?: Record<string, string>;
  serviceType?: string;
  debug?: boolean;
  password?: string;
  sizing?: { cpu?: string; replicas?: number };
}

function toy(p: Toy): unknown[] {
  const annotations = Object.keys(p.annotations ?? {}).length > 0 ? { annotations: { 'toy.example/owner': 'me', ...p.annotations } } : {};
  const nodePort = p.serviceType === 'NodePort';
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${p.name}-config`, namespace: 'toys', ...annotations }, data: { debug: String(p.debug ?? false), 'app.json': JSON.stringify({ name: p.name, replicas: p.sizing?.replicas ?? 1 }) } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: p.name, namespace: 'toys' }, spec: { type: p.serviceType ?? 'ClusterIP', ports: [{ name: 'http', port: 80, ...(nodePort ? { nodePort: 30080 } : {}) }] } },
    ...(p.password ? [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${p.name}-password`, namespace: 'toys' }, data: { password: Buffer.from(p.password).toString('base64') } }] : []),
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: p.name, namespace: 'toys' }, spec: { replicas: p.sizing?.replicas ?? 1, template: { spec: { containers: [{ name: 'app', args: p.debug ? ['--verbose'] : [], resources: { requests: { cpu: p.sizing?.cpu ?? '100m' } } }] } } } },
  ];
}

const toySource = (synth: (p: Toy) => unknown[] = toy, schema: Record<string, unknown> = TOY_SCHEMA): ChartSource => ({
  name: 'toy',
  description: 'a toy',
  sourceFile: 'toy.ts',
  propsInterface: 'ToyProps',
  schema,
  synth: (props) => synth(props as unknown as Toy),
});

let dir: string;
let chartDir: string;
let helm: Helm;
let defaults: Record<string, unknown>;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-chart-generator-'));
  chartDir = path.join(dir, 'toy');
  writeChart(chartDir, chartFiles(toySource(), { sourceText: TOY_SOURCE, version: '1.2.3' }), false);
  defaults = parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  helm = helmCommand();
});
afterAll(() => {
  if (process.env.KUBEGATE_KEEP_CHART) fs.cpSync(chartDir, process.env.KUBEGATE_KEEP_CHART, { recursive: true });
  helm?.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('values.yaml holds the defaults, nested ones included, each under its docs', () => {
  expect(defaults).toEqual({ annotations: {}, serviceType: 'ClusterIP', debug: false, sizing: { cpu: '100m', replicas: 1 } });
  const text = fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8');
  expect(text).toContain('# How the Service is exposed.\n# Default: \'ClusterIP\'.\nserviceType: ClusterIP');
  expect(text).toContain('  # CPU request.\n  # Default: \'100m\'.\n  cpu: 100m');
  expect(fs.readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')).toContain('version: 1.2.3');
});

test.each<[string, Partial<Toy>]>([
  ['defaults', {}],
  ['NodePort, debug, a password', { serviceType: 'NodePort', debug: true, password: 'p@ss "word"' }],
  ['an empty password, which the construct takes for none', { password: '' }],
  ['annotations and sizing', { annotations: { 'a.example/x': '1', b: 'two' }, sizing: { cpu: '250m', replicas: 3 } }],
])('helm template renders what the construct makes: %s', async (_what, values) => {
  const file = path.join(dir, `v-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, stringify({ name: 'shop', ...values }));
  const out = await helm.run(['template', 'toy', chartDir, '-f', file]);
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  const merged = { ...defaults, name: 'shop', ...values, sizing: { ...(defaults.sizing as object), ...(values.sizing ?? {}) } } as Toy;
  expect(objectsByIdentity(out.stdout)).toEqual(objectsByIdentity(toy(merged).map((o) => stringify(o)).join('---\n')));
});

test('a prop the construct transforms past recognition is refused, not templated wrongly', () => {
  const shouting = (p: Toy) => [...toy(p), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'n' }, data: { upper: p.name.toUpperCase() } }];
  expect(() => chartFiles(toySource(shouting), { sourceText: TOY_SOURCE, version: '1' })).toThrow(ChartShapeUnsupportedError);
  const arithmetic = (p: Toy) => [...toy(p), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'n' }, data: { next: (p.sizing?.replicas ?? 1) + 1 } }];
  expect(() => chartFiles(toySource(arithmetic), { sourceText: TOY_SOURCE, version: '1' })).toThrow(/depend on the props beyond what their sentinels show/);
});

test('a prop of a type the generator has no sentinel for is refused by name', () => {
  const schema = { ...TOY_SCHEMA, properties: { ...TOY_SCHEMA.properties, ports: { type: 'array', items: { type: 'integer' } } } };
  const err = (() => {
    try {
      chartFiles(toySource(toy, schema), { sourceText: TOY_SOURCE.replace('readonly name: string;', 'readonly name: string;\n  readonly ports?: number[];'), version: '1' });
    } catch (e) {
      return e as ChartPropUnsupportedError;
    }
    throw new Error('accepted');
  })();
  expect(err).toBeInstanceOf(ChartPropUnsupportedError);
  expect(err.code).toBe('ERR_CHART_PROP_UNSUPPORTED');
  expect(err.message).toMatch(/^cannot template prop ports: /);
});

test('prop docs: nested members and members of an extended interface, @default split off', () => {
  const docs = propDocs(TOY_SOURCE, 'ToyProps');
  expect(docs.name).toEqual({ text: "The app's name.", children: {} });
  expect(docs.sizing!.children.replicas).toEqual({ text: 'Pods.', defaultText: '1', children: {} });
  expect(docs.sizing!.children.cpu!.defaultText).toBe("'100m'");
  expect(() => propDocs(TOY_SOURCE, 'NoSuchProps')).toThrow(/no interface NoSuchProps/);
});

test('a section inside a section is refused by name', () => {
  const inner = { type: 'object', properties: { key: { type: 'string' } }, required: ['key'], additionalProperties: false };
  const outer = { type: 'object', properties: { url: { type: 'string' }, tls: inner }, required: ['url'], additionalProperties: false };
  const schema = { ...TOY_SCHEMA, properties: { ...TOY_SCHEMA.properties, remote: outer } };
  expect(() => chartFiles(toySource(toy, schema), { sourceText: TOY_SOURCE, version: '1' })).toThrow(/^cannot template prop remote\.tls: a section inside a section cannot be templated/);
});
