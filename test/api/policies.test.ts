/**
 * The policy set through the admin API: anyone reads, validates and diffs; administrators
 * apply, all or nothing, and only against the revision they looked at.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPolicies, PolicyValidationError } from '../../policies/src';
import { ApiHarness, BREAK_GLASS_POLICIES, POLICIES } from './api-harness';

let h: ApiHarness;

beforeAll(async () => {
  h = await ApiHarness.start();
  await h.addUser('dana', ['dev']);
});
afterAll(() => h.close());

const fixture = (name: string) => ({
  fileName: `test/policies/fixtures/${name}`,
  text: fs.readFileSync(path.join(__dirname, '..', 'policies', 'fixtures', name), 'utf8'),
});
const applied = () => [
  { fileName: 'access.yaml', text: POLICIES },
  { fileName: 'break-glass.yaml', text: BREAK_GLASS_POLICIES },
];

/** What loadPolicies itself reports for the files: the API must report exactly these. */
function expectedErrors(files: readonly { fileName: string; text: string }[]) {
  try {
    loadPolicies(files);
  } catch (err) {
    if (err instanceof PolicyValidationError) {
      return err.errors.map((e) => ({ file: e.file, line: e.line, column: e.column, path: e.path, code: e.code, message: e.message }));
    }
    throw err;
  }
  throw new Error('expected the files not to load');
}

const EXTRA = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: ops-beta
spec:
  subjects: {groups: [ops]}
  clusters: {names: [beta]}
  clusterRoles: [{name: view}]
`;

describe('reading', () => {
  test('any authenticated user reads the applied set with its documents', async () => {
    const r = await h.call('dana', 'GET', '/policies');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ revision: 1, appliedBy: 'root', files: applied() });
    expect(r.body.appliedAt).toMatch(/Z$/);
    expect(r.body.documents).toEqual(
      expect.arrayContaining([
        { kind: 'AccessPolicy', name: 'dev-alpha', file: 'access.yaml', line: expect.any(Number) },
        { kind: 'BreakGlassPolicy', name: 'oncall-beta-admin', file: 'break-glass.yaml', line: 1 },
      ]),
    );
    expect(r.body.documents).toHaveLength(6);
  });
});

describe('validate', () => {
  test('a valid set: valid, no errors, its documents', async () => {
    const r = await h.call('dana', 'POST', '/policies/validate', { files: [{ fileName: 'extra.yaml', text: EXTRA }] });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ valid: true, errors: [], documents: [{ kind: 'AccessPolicy', name: 'ops-beta', file: 'extra.yaml', line: 1 }] });
  });

  test('an invalid set: every error with file, line, column, path, code and message', async () => {
    const files = [fixture('many-errors.yaml'), fixture('duplicate.yaml')];
    const r = await h.call('dana', 'POST', '/policies/validate', { files });
    expect(r.status).toBe(200);
    expect(r.body.valid).toBe(false);
    expect(r.body.errors).toEqual(expectedErrors(files));
    expect(r.body.errors.length).toBeGreaterThan(5);
    expect(r.body.errors).toContainEqual(expect.objectContaining({ file: 'test/policies/fixtures/many-errors.yaml', line: 12, column: 15, code: 'ERR_POLICY_BAD_VALUE' }));
  });

  test.each([
    [{}, 'files', 'files is required: a list of {fileName, text}'],
    [{ files: 'x' }, 'files', 'files must be a list of {fileName, text}'],
    [{ files: [{ fileName: '', text: '' }] }, 'files[0].fileName', 'files[0].fileName must be a non-empty string'],
    [{ files: [{ fileName: 'a.yaml' }] }, 'files[0].text', 'files[0].text must be a string'],
    [{ files: [{ fileName: 'a.yaml', text: '', mode: 1 }] }, 'files[0].mode', 'unknown field "mode" in files[0]; fields here: fileName, text'],
    [{ files: [{ fileName: 'a.yaml', text: '' }, { fileName: 'a.yaml', text: '' }] }, 'files[1].fileName', 'file "a.yaml" is listed twice'],
  ])('a malformed request %j is 400 naming %s', async (body, field, message) => {
    const r = await h.call('dana', 'POST', '/policies/validate', body);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 'ERR_BAD_REQUEST', field, message });
  });
});

describe('diff', () => {
  test('documents added, removed and changed by kind and name, and a line diff per file', async () => {
    const changedAccess = POLICIES.replace('clusterRoles: [{name: edit}]', 'clusterRoles: [{name: admin}]');
    const files = [
      { fileName: 'access.yaml', text: changedAccess },
      { fileName: 'extra.yaml', text: EXTRA },
    ];
    const r = await h.call('dana', 'POST', '/policies/diff', { files });
    expect(r.status).toBe(200);
    expect(r.body.revision).toBe(1);
    expect(r.body.valid).toBe(true);
    expect(r.body.documents).toEqual({
      added: [{ kind: 'AccessPolicy', name: 'ops-beta' }],
      removed: [
        { kind: 'BreakGlassPolicy', name: 'oncall-alpha-restart' },
        { kind: 'BreakGlassPolicy', name: 'oncall-beta-admin' },
      ],
      changed: [{ kind: 'AccessPolicy', name: 'dev-alpha' }],
      unchanged: 3,
    });
    const byName = Object.fromEntries(r.body.files.map((f: { fileName: string }) => [f.fileName, f]));
    expect(Object.keys(byName).sort()).toEqual(['access.yaml', 'break-glass.yaml', 'extra.yaml']);
    expect(byName['access.yaml'].status).toBe('changed');
    expect(byName['access.yaml'].diff).toContain('--- a/access.yaml\n+++ b/access.yaml\n@@ -');
    expect(byName['access.yaml'].diff).toContain('\n-  clusterRoles: [{name: edit}]\n+  clusterRoles: [{name: admin}]\n');
    expect(byName['extra.yaml']).toEqual({ fileName: 'extra.yaml', status: 'added', diff: expect.stringMatching(/^--- \/dev\/null\n\+\+\+ b\/extra.yaml\n@@ -0,0 \+1,8 @@\n\+apiVersion/) });
    expect(byName['break-glass.yaml'].status).toBe('removed');
    expect(byName['break-glass.yaml'].diff).toMatch(/^--- a\/break-glass.yaml\n\+\+\+ \/dev\/null\n@@ -1,\d+ \+0,0 @@\n-apiVersion/);
  });

  test('reformatting a document without changing what it says is not a change', async () => {
    const reformatted = POLICIES.replace('clusters: {names: [alpha]}', 'clusters:\n    names:\n      - alpha');
    const r = await h.call('dana', 'POST', '/policies/diff', { files: [{ fileName: 'access.yaml', text: reformatted }, { fileName: 'break-glass.yaml', text: BREAK_GLASS_POLICIES }] });
    expect(r.body.documents).toEqual({ added: [], removed: [], changed: [], unchanged: 6 });
    expect(r.body.files).toHaveLength(1);
    expect(r.body.files[0].diff).toContain('-  clusters: {names: [alpha]}\n+  clusters:\n+    names:\n+      - alpha\n');
  });

  test('the same files: nothing to show', async () => {
    const r = await h.call('dana', 'POST', '/policies/diff', { files: applied() });
    expect(r.body).toMatchObject({ valid: true, errors: [], files: [], documents: { added: [], removed: [], changed: [], unchanged: 6 } });
  });

  test('an invalid set is diffed as far as it goes and says so, with its errors', async () => {
    const files = [fixture('many-errors.yaml')];
    const r = await h.call('dana', 'POST', '/policies/diff', { files });
    expect(r.body.valid).toBe(false);
    expect(r.body.errors).toEqual(expectedErrors(files));
  });
});

describe('apply', () => {
  test('a non-administrator may not apply', async () => {
    const r = await h.call('dana', 'PUT', '/policies', { files: applied(), expectedRevision: 1 });
    expect(r.status).toBe(403);
  });

  test('an invalid set is 422 with every error, and nothing changes', async () => {
    const files = [...applied(), fixture('many-errors.yaml'), fixture('unknown-field.yaml')];
    await h.cert('root'); // recorded before the generation is noted
    const generation = await h.store.generation();
    const r = await h.call('root', 'PUT', '/policies', { files, expectedRevision: 1 });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('ERR_POLICY_INVALID');
    expect(r.body.message).toMatch(/^\d+ policy errors in 2 files; nothing was changed$/);
    expect(r.body.errors).toEqual(expectedErrors(files));
    expect(r.body.errors.map((e: { file: string }) => e.file)).toEqual(expect.arrayContaining(['test/policies/fixtures/many-errors.yaml', 'test/policies/fixtures/unknown-field.yaml']));
    expect((await h.store.getPolicySet()).revision).toBe(1);
    expect(await h.store.generation()).toBe(generation);
    expect(h.access.policyRevision).toBe(1);
  });

  test('a valid set applies, is in force when the API answers, and a stale revision is then 409', async () => {
    const files = [...applied(), { fileName: 'extra.yaml', text: EXTRA }];
    expect(h.access.engine.clusterAccess({ user: 'olga', groups: ['ops'] }, { name: 'beta', labels: { env: 'prod' } }, h.access.evaluationContext('olga', h.now())).mode).toBe('none');
    const r = await h.call('root', 'PUT', '/policies', { files, expectedRevision: 1 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ revision: 2, appliedBy: 'root', files });
    expect(r.body.documents).toContainEqual({ kind: 'AccessPolicy', name: 'ops-beta', file: 'extra.yaml', line: 1 });
    expect(h.access.policyRevision).toBe(2);
    expect(h.access.engine.clusterAccess({ user: 'olga', groups: ['ops'] }, { name: 'beta', labels: { env: 'prod' } }, h.access.evaluationContext('olga', h.now())).mode).toBe('kubectl');

    const stale = await h.call('root', 'PUT', '/policies', { files: applied(), expectedRevision: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body).toEqual({
      code: 'ERR_CONFLICT',
      message: "the policy set is at revision 2, not 1: it was applied in between (by root); review the change with 'kubegate policy diff' and apply again",
    });
    expect((await h.store.getPolicySet()).files).toHaveLength(3);
  });

  test('expectedRevision is required', async () => {
    const r = await h.call('root', 'PUT', '/policies', { files: applied() });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 'ERR_BAD_REQUEST', field: 'expectedRevision', message: 'expectedRevision is required' });
  });
});
