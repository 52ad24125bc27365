/**
 * readPolicyDirectory on real directories: which files make up the policy set, what they are
 * called, and the layouts deployments use (a swapped symlink, a Kubernetes ConfigMap volume).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PolicyDirectoryError } from '../../control-plane/policy-source/policy-directory-error';
import { readPolicyDirectory } from '../../control-plane/policy-source/read-policy-directory';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-read-policy-dir-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function write(rel: string, text = `# ${rel}\n`): void {
  const file = path.join(root, ...rel.split('/'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const real = (rel: string) => fs.realpathSync(path.join(root, ...rel.split('/')));
const names = (dir: string) => readPolicyDirectory(dir).files.map((f) => f.fileName);

describe('readPolicyDirectory', () => {
  test('reads every *.yaml and *.yml recursively, sorted, named relative to the directory with / separators', () => {
    write('policies/z.yaml', 'z');
    write('policies/a.YML', 'a');
    write('policies/teams/payments/readonly.yaml', 'payments');
    write('policies/teams/checkout.yml', 'checkout');
    write('policies/README.md');
    write('policies/notes.yaml.bak');
    const { files, ignored } = readPolicyDirectory(path.join(root, 'policies'));
    expect(files).toEqual([
      { fileName: 'a.YML', text: 'a' },
      { fileName: 'teams/checkout.yml', text: 'checkout' },
      { fileName: 'teams/payments/readonly.yaml', text: 'payments' },
      { fileName: 'z.yaml', text: 'z' },
    ]);
    expect(ignored).toEqual([]);
  });

  test('skips hidden files and directories such as .git and editor swap files', () => {
    write('policies/team.yaml');
    write('policies/.git/refs/bad.yaml');
    write('policies/.draft.yaml');
    write('policies/team/.wip/next.yaml');
    expect(names(path.join(root, 'policies'))).toEqual(['team.yaml']);
  });

  test('follows symlinks that stay inside the directory, reports those that lead out, and does not loop', () => {
    write('policies/shared/base.yaml', 'base');
    write('outside/secret.yaml', 'not policy');
    const dir = path.join(root, 'policies');
    fs.symlinkSync(path.join('shared', 'base.yaml'), path.join(dir, 'linked.yaml'));
    fs.symlinkSync(path.join(root, 'outside', 'secret.yaml'), path.join(dir, 'escape.yaml'));
    fs.symlinkSync(path.join(root, 'outside'), path.join(dir, 'escape-dir'));
    fs.symlinkSync('..', path.join(dir, 'shared', 'loop'));
    fs.symlinkSync('missing.yaml', path.join(dir, 'dangling.yaml'));
    const { files, ignored } = readPolicyDirectory(dir);
    expect(files).toEqual([
      { fileName: 'linked.yaml', text: 'base' },
      { fileName: 'shared/base.yaml', text: 'base' },
    ]);
    expect(ignored.map((i) => i.fileName)).toEqual(['escape-dir', 'escape.yaml', 'shared/loop']);
    expect(ignored[1]!.reason).toMatch(/outside the policy directory/);
    expect(readPolicyDirectory(dir).directories).toEqual([real('policies'), real('policies/shared')]);
  });

  test('a directory that is itself a symlink (current -> releases/abc) is read at its target', () => {
    write('releases/abc/policy.yaml', 'abc');
    fs.symlinkSync(path.join('releases', 'abc'), path.join(root, 'current'));
    expect(readPolicyDirectory(path.join(root, 'current')).files).toEqual([{ fileName: 'policy.yaml', text: 'abc' }]);
  });

  test('a ConfigMap volume is read through ..data, under the names of its keys', () => {
    const dir = path.join(root, 'configmap');
    write('configmap/..2025_06_02_09_00_00.000000001/team.yaml', 'current');
    write('configmap/..2025_06_01_09_00_00.000000001/team.yaml', 'stale copy');
    fs.symlinkSync('..2025_06_02_09_00_00.000000001', path.join(dir, '..data'));
    fs.symlinkSync(path.join('..data', 'team.yaml'), path.join(dir, 'team.yaml'));
    const { files, directories } = readPolicyDirectory(dir);
    expect(files).toEqual([{ fileName: 'team.yaml', text: 'current' }]);
    // The volume's top level (where ..data is swapped) and the copy it points at are the ones to watch.
    expect(directories).toEqual([real('configmap'), real('configmap/..2025_06_02_09_00_00.000000001')]);
  });

  test('only regular files are read: a FIFO named like a policy file does not block', () => {
    write('policies/team.yaml');
    execFileSync('mkfifo', [path.join(root, 'policies', 'pipe.yaml')]);
    expect(names(path.join(root, 'policies'))).toEqual(['team.yaml']);
  });

  test('a missing directory, or a file in its place, is a PolicyDirectoryError naming it', () => {
    const missing = path.join(root, 'nowhere');
    expect(() => readPolicyDirectory(missing)).toThrow(PolicyDirectoryError);
    expect(() => readPolicyDirectory(missing)).toThrow(`policy directory ${missing} does not exist`);
    write('file.yaml');
    expect(() => readPolicyDirectory(path.join(root, 'file.yaml'))).toThrow(/is not a directory/);
  });

  test('an empty directory reads as no files (the watcher, not the reader, decides that is an error)', () => {
    fs.mkdirSync(path.join(root, 'empty'));
    expect(readPolicyDirectory(path.join(root, 'empty'))).toEqual({ files: [], ignored: [], directories: [real('empty')] });
  });
});
