/**
 * `kubegate policy validate`: local, offline, compiler-style. Its output for every fixture is
 * exactly what the policy library reports for the same files, and for the examples it is a
 * clean pass; exit 1 on any error.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPolicies, PolicyValidationError } from '../../policies/src';
import { runCli } from './run-cli';

const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = 'test/policies/fixtures';
const EXAMPLES = 'policies/examples';

const yamlIn = (dir: string) =>
  fs
    .readdirSync(path.join(ROOT, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => `${dir}/${f}`);

/** What the policy library reports for these files (named as the CLI names them). */
function libraryErrors(files: readonly string[]): string[] {
  try {
    loadPolicies(files.map((f) => ({ fileName: f, text: fs.readFileSync(path.join(ROOT, f), 'utf8') })));
  } catch (err) {
    if (err instanceof PolicyValidationError) return err.errors.map((e) => e.format());
    throw err;
  }
  return [];
}

let savedCwd: string;
const savedEnv = { KUBEGATE_SERVER: process.env.KUBEGATE_SERVER, KUBECONFIG: process.env.KUBECONFIG };

beforeAll(() => {
  savedCwd = process.cwd();
  process.chdir(ROOT);
  // Nothing to reach: validate must not need a control plane or credentials.
  process.env.KUBEGATE_SERVER = 'https://127.0.0.1:1';
  process.env.KUBECONFIG = path.join(os.tmpdir(), 'kubegate-no-such.kubeconfig');
});
afterAll(() => {
  process.chdir(savedCwd);
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('kubegate policy validate', () => {
  test('the examples pass: exit 0 and a summary by kind', async () => {
    const r = await runCli(['policy', 'validate', EXAMPLES]);
    const documents = loadPolicies(yamlIn(EXAMPLES).map((f) => ({ fileName: f, text: fs.readFileSync(path.join(ROOT, f), 'utf8') })));
    const counts = new Map<string, number>();
    for (const d of documents) counts.set(d.kind, (counts.get(d.kind) ?? 0) + 1);
    const summary = [...counts].map(([kind, n]) => `${n} ${kind}`).join(', ');
    expect(r).toEqual({ code: 0, stdout: `ok: ${yamlIn(EXAMPLES).length} files, ${summary}\n`, stderr: '' });
  });

  test.each(yamlIn(FIXTURES))('%s: exactly the errors the policy library reports, exit 1', async (file) => {
    const r = await runCli(['policy', 'validate', file]);
    const expected = libraryErrors([file]);
    expect(expected.length).toBeGreaterThan(0);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(expected.join('\n') + '\n');
    expect(r.stderr).toBe(`${expected.length} error${expected.length === 1 ? '' : 's'} in 1 of 1 file\n`);
    for (const line of r.stdout.trimEnd().split('\n')) expect(line).toMatch(new RegExp(`^${file}:\\d+:\\d+: ERR_POLICY_[A-Z_]+ \\S`));
  });

  test('many-errors.yaml prints the lines the policies README shows', async () => {
    const r = await runCli(['policy', 'validate', `${FIXTURES}/many-errors.yaml`]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `${FIXTURES}/many-errors.yaml:12:15: ERR_POLICY_BAD_VALUE unknown access mode "console" at spec.accessMode; did you mean "console-only"? allowed: kubectl, console-only, disabled`,
    );
    expect(lines).toContain(
      `${FIXTURES}/many-errors.yaml:16:20: ERR_POLICY_UNKNOWN_VERB unknown verb "lsit" at spec.rules[0].verbs[1]; did you mean "list"? allowed: get, list, watch, create, update, patch, delete, deletecollection, bind, escalate, approve, sign, use, *`,
    );
  });

  test('a directory: every file in it, errors of all files and across files in one run', async () => {
    const r = await runCli(['policy', 'validate', FIXTURES]);
    const files = yamlIn(FIXTURES);
    const expected = libraryErrors(files);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(expected.join('\n') + '\n');
    const withErrors = new Set(expected.map((l) => l.split(':')[0])).size;
    expect(r.stderr).toBe(`${expected.length} errors in ${withErrors} of ${files.length} files\n`);
  });

  test('good and bad files together: only the bad ones are reported, and the set fails', async () => {
    const r = await runCli(['policy', 'validate', EXAMPLES, `${FIXTURES}/unknown-field.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(libraryErrors([...yamlIn(EXAMPLES), `${FIXTURES}/unknown-field.yaml`]).join('\n') + '\n');
    expect(r.stdout).not.toContain(EXAMPLES);
  });

  test('-o json: valid, every error with its position and code, and the valid documents', async () => {
    const r = await runCli(['policy', 'validate', `${FIXTURES}/unknown-verb.yaml`, EXAMPLES, '-o', 'json']);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout);
    expect(body.valid).toBe(false);
    expect(body.errors.map((e: { file: string; line: number; column: number; code: string; message: string }) => `${e.file}:${e.line}:${e.column}: ${e.code} ${e.message}`)).toEqual(
      libraryErrors([`${FIXTURES}/unknown-verb.yaml`, ...yamlIn(EXAMPLES)]),
    );
    expect(body.documents).toContainEqual({ kind: 'BreakGlassPolicy', name: 'oncall-prod-admin', file: `${EXAMPLES}/oncall-break-glass.yaml`, line: expect.any(Number) });
    const ok = await runCli(['policy', 'validate', EXAMPLES, '-o', 'json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, errors: [] });
  });

  test('paths that are missing or hold no policy files are errors (exit 1)', async () => {
    expect(await runCli(['policy', 'validate', 'no/such/dir'])).toEqual({ code: 1, stdout: '', stderr: 'kubegate policy: no/such/dir does not exist (ERR_POLICY_FILES)\n' });
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-empty-policies-'));
    try {
      const r = await runCli(['policy', 'validate', empty]);
      expect(r).toEqual({ code: 1, stdout: '', stderr: `kubegate policy: ${empty} holds no policy files (*.yaml, *.yml) (ERR_POLICY_FILES)\n` });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  test('a directory is searched recursively, in name order, skipping hidden entries and other files', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-policies-'));
    try {
      fs.mkdirSync(path.join(dir, 'b-team'));
      fs.mkdirSync(path.join(dir, '.git'));
      fs.copyFileSync(path.join(ROOT, FIXTURES, 'unknown-kind.yaml'), path.join(dir, 'b-team', 'kind.yml'));
      fs.copyFileSync(path.join(ROOT, FIXTURES, 'bad-name.yaml'), path.join(dir, 'a.yaml'));
      fs.copyFileSync(path.join(ROOT, FIXTURES, 'bad-type.yaml'), path.join(dir, '.git', 'ignored.yaml'));
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'kind: nothing');
      const rel = path.relative(ROOT, dir).split(path.sep).join('/');
      const r = await runCli(['policy', 'validate', rel]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(libraryErrors([`${rel}/a.yaml`, `${rel}/b-team/kind.yml`]).join('\n') + '\n');
      expect(r.stderr).toMatch(/ in 2 of 2 files\n$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
