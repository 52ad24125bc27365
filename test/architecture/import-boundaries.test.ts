/**
 * The project's boundaries, checked on the code's own imports (every relative import, dynamic
 * import, require and re-export with a literal path, in every .ts file), so that a change that
 * crosses one fails here. Paths built at run time (compiledEntry, files read from disk) are not
 * imports and are not seen:
 *
 * - the relay agent (agent/) runs in other people's clusters and shares only its protocol
 *   (agent/protocol) and the policy model (policies/) with the control plane: it imports
 *   nothing from control-plane/ or dev/;
 * - nothing kubegate ships (control-plane/, agent/, policies/, constructs/) imports the
 *   development harness (dev/), the tests or the benchmarks;
 * - the agent imports no construct (constructs/ describe how it is deployed, not what it runs);
 * - the policy model (policies/) imports nothing else of kubegate's;
 * - folders do not import each other in a circle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const SHIPPED = ['control-plane', 'agent', 'policies', 'constructs'];
const SCANNED = [...SHIPPED, 'dev'];

interface Import {
  readonly from: string;
  readonly to: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(rel));
    else if (entry.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

const SPECIFIER = /(?:\bfrom|\bimport|\brequire)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function importsOf(file: string): Import[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(SPECIFIER)].map((m) => ({ from: file, to: path.normalize(path.join(path.dirname(file), m[1]!)) }));
}

const imports = SCANNED.flatMap(sourceFiles).flatMap(importsOf);
const top = (p: string) => p.split(path.sep)[0]!;
/** control-plane/<folder> and dev/<folder> are folders of their own; agent/ and policies/ are one each. */
const folder = (p: string) => {
  const parts = p.split(path.sep);
  return (parts[0] === 'control-plane' || parts[0] === 'dev') && parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
};
const describeImport = (i: Import) => `${i.from} imports ${i.to}`;

test('the scan sees the tree: hundreds of files, and imports of every kind it checks', () => {
  expect(imports.length).toBeGreaterThan(500);
  expect(imports.some((i) => top(i.from) === 'control-plane' && top(i.to) === 'agent')).toBe(true);
  expect(imports.some((i) => top(i.from) === 'dev' && top(i.to) === 'control-plane')).toBe(true);
});

test('the agent imports nothing of the control plane or the harness', () => {
  expect(imports.filter((i) => top(i.from) === 'agent' && ['control-plane', 'dev', 'constructs'].includes(top(i.to))).map(describeImport)).toEqual([]);
});

test('nothing kubegate ships imports the harness, the tests or the benchmarks', () => {
  expect(imports.filter((i) => SHIPPED.includes(top(i.from)) && ['dev', 'test', 'bench'].includes(top(i.to))).map(describeImport)).toEqual([]);
});

test('the policy model imports nothing else of kubegate', () => {
  expect(imports.filter((i) => top(i.from) === 'policies' && top(i.to) !== 'policies').map(describeImport)).toEqual([]);
});

test('folders do not import each other in a circle', () => {
  const edges = new Map<string, Set<string>>();
  for (const i of imports) {
    const [a, b] = [folder(i.from), folder(i.to)];
    if (a !== b) edges.set(a, (edges.get(a) ?? new Set()).add(b));
  }
  expect(circles(edges)).toEqual([]);
});

/** The strongly connected components of more than one folder, each sorted, in sorted order (Tarjan). */
function circles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a.join().localeCompare(b.join()));
}

test('the circle finder finds a circle, and only real ones', () => {
  const graph = new Map([
    ['a', new Set(['b'])],
    ['b', new Set(['c'])],
    ['c', new Set(['a'])],
    ['d', new Set(['a'])],
  ]);
  expect(circles(graph)).toEqual([['a', 'b', 'c']]);
  expect(circles(new Map([['a', new Set(['b'])]]))).toEqual([]);
});
