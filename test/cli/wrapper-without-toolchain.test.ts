/**
 * The `./kubegate` wrapper on a machine without the toolchain (an empty KUBEGATE_CACHE_DIR, and
 * neither Go nor Python on PATH, so an install could not even start its builds): help, usage
 * errors and `dev status` answer without a single install step, because installing is many
 * minutes of Go builds on a fresh machine. Only `dev up`, once its options are right, starts the
 * installer, and its failure is reported as such.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCommand } from '../support/run-command';

jest.setTimeout(300_000);

const root = path.join(__dirname, '..', '..');
let scratch: string;
let cache: string;
let env: NodeJS.ProcessEnv;

/** A PATH directory with every command of this one except Go's and Python's. */
function pathWithout(excluded: RegExp, dir: string): string {
  fs.mkdirSync(dir);
  for (const from of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    let names: string[];
    try {
      names = fs.readdirSync(from);
    } catch {
      continue;
    }
    for (const name of names) {
      const target = path.join(dir, name);
      if (excluded.test(name) || fs.existsSync(target)) continue;
      fs.symlinkSync(path.join(from, name), target);
    }
  }
  return dir;
}

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-no-toolchain-'));
  cache = path.join(scratch, 'cache');
  fs.mkdirSync(cache);
  env = { ...process.env, KUBEGATE_CACHE_DIR: cache, PATH: pathWithout(/^(go|gofmt|python.*|pip.*)$/, path.join(scratch, 'bin')) };
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const kubegate = (args: string[]) => runCommand(path.join(root, 'kubegate'), args, { env, timeoutMs: 280_000 });

/** What the installers log: toolchain/install.sh (logfmt) and bootstrap's npm step. */
const INSTALL_STEP = /component=toolchain|installing npm packages/;

test('the PATH given to the wrapper really lacks Go and Python', async () => {
  const probe = await runCommand('bash', ['-c', 'command -v go python3 python; echo "node=$(command -v node)"'], { env });
  expect(probe.stdout.trim()).toBe(`node=${path.join(scratch, 'bin', 'node')}`);
});

test.each([[['--help']], [['dev', '--help']], [['dev', 'up', '--help']], [['dev', 'up', '-h', '--direct']], [['user', 'create', '--help']], [['cluster', 'list', '--help']]])(
  '%j prints help and installs nothing',
  async (args) => {
    const r = await kubegate(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kubegate /);
    expect(r.stderr).not.toMatch(INSTALL_STEP);
    expect(fs.readdirSync(cache)).toEqual([]);
  },
);

test('usage errors and dev status answer without installing anything', async () => {
  const bad = await kubegate(['dev', 'up', '--clusters', '0']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--clusters "0" must be a whole number from 1 to 10');
  const status = await kubegate(['dev', 'status', '--state-dir', path.join(scratch, 'state')]);
  expect(status.code).toBe(1);
  expect(status.stdout).toBe(`no local stack runs from ${path.join(scratch, 'state')}\n`);
  for (const r of [bad, status]) expect(r.stderr).not.toMatch(INSTALL_STEP);
  expect(fs.readdirSync(cache)).toEqual([]);
});

test('dev up runs the installer, and says so when it fails', async () => {
  const stateDir = path.join(scratch, 'up-state');
  const r = await kubegate(['dev', 'up', '--state-dir', stateDir]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('the toolchain is not installed yet');
  expect(r.stderr).toContain('msg="toolchain install starting"');
  expect(r.stderr).toContain('python3 is missing');
  expect(r.stderr).toMatch(/kubegate dev: installing the toolchain failed \(exit code 1\); its last log lines above say why \(ERR_TOOLCHAIN_INSTALL\)\n$/);
  expect(fs.existsSync(path.join(stateDir, 'stack.json'))).toBe(false);
});
