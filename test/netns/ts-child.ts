/**
 * Runs a snippet of JavaScript in a separate Node process that can use the project's TypeScript
 * modules, so a test can make another process own a firewalled site: one that is then
 * SIGKILLed (a crashed run), or one that runs without root or without CAP_NET_ADMIN.
 *
 * The modules are transpiled here, in the test process, and sent with the snippet on the
 * child's stdin: the child reads no file of the project, so it works as an unprivileged user
 * even when the checkout lives where that user cannot read (e.g. under /root).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');

/** Transpiled modules by absolute path: `entry` and every project module it requires. */
function bundle(entry: string, modules: Record<string, string> = {}): Record<string, string> {
  if (modules[entry] !== undefined) return modules;
  const out = ts.transpileModule(fs.readFileSync(entry, 'utf8'), {
    fileName: entry,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  modules[entry] = out;
  for (const m of out.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) bundle(resolveModule(path.dirname(entry), m[1]!), modules);
  return modules;
}

function resolveModule(dir: string, spec: string): string {
  const base = path.resolve(dir, spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  throw new Error(`cannot resolve ${spec} from ${dir}`);
}

/**
 * The child's whole program: a tiny CommonJS loader over the bundled modules, `load(rel)` to
 * require one of them by its path from the repository root, then `body`.
 */
export function tsChildScript(body: string, entries: readonly string[]): string {
  const modules: Record<string, string> = {};
  for (const rel of entries) bundle(path.join(ROOT, rel), modules);
  return `
const __modules = ${JSON.stringify(modules)};
const __cache = {};
const __path = require('node:path');
function __require(file) {
  if (__cache[file]) return __cache[file].exports;
  const module = { exports: {} };
  __cache[file] = module;
  const localRequire = (spec) => {
    if (!spec.startsWith('.')) return require(spec);
    const base = __path.resolve(__path.dirname(file), spec);
    const hit = [base + '.ts', __path.join(base, 'index.ts')].find((f) => f in __modules);
    if (!hit) throw new Error('not bundled: ' + spec + ' from ' + file);
    return __require(hit);
  };
  new Function('exports', 'require', 'module', '__filename', '__dirname', __modules[file])(module.exports, localRequire, module, file, __path.dirname(file));
  return module.exports;
}
const load = (rel) => __require(__path.join(${JSON.stringify(ROOT)}, rel));
${body}
`;
}

/** Starts `[...prefix, node, -]` with the script on stdin (cwd /, readable by anyone). */
export function spawnTsChild(body: string, entries: readonly string[], prefix: readonly string[] = []): ChildProcess {
  const script = tsChildScript(body, entries);
  const [command, ...args] = [...prefix, process.execPath, '-'];
  const child = spawn(command!, args, { cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(script);
  return child;
}

/** spawnTsChild() to completion: resolves with its stdout, rejects on a non-zero exit or after `timeoutMs`. */
export function runTsChild(body: string, entries: readonly string[], prefix: readonly string[] = [], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnTsChild(body, entries, prefix);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`child ${prefix.join(' ')} node exited with ${signal ?? code}: ${stderr}`));
    });
  });
}
