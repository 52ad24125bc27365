/**
 * `kubegate dev status`: a few lines a person reads at a glance, `-o json` with everything
 * stack.json records for scripts, exit 1 when no stack runs. It reads the state directory and
 * nothing else, so these runs need no toolchain and no running stack (the pid recorded is this
 * test's own process, which is alive; a dead one stands for a stack that crashed).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeStackDescriptor, type StackDescriptor } from '../../control-plane/cli/stack-descriptor';
import { runCli } from './run-cli';

let stateDir: string;
beforeEach(() => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-dev-status-'));
});
afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

const descriptor = (pid: number): StackDescriptor => ({
  // The paths are the state directory's, as dev up writes them.
  pid,
  edgeUrl: 'https://127.0.0.1:18443',
  edgeAdminPort: 18001,
  controlPlanePort: 18002,
  controlPlaneStatusUrl: 'http://127.0.0.1:18003',
  apiUrl: 'https://127.0.0.1:18004',
  clusters: [
    { name: 'dev-1', apiserverUrl: 'https://127.0.0.1:18005', connection: 'direct' },
    { name: 'dev-2', apiserverUrl: 'https://127.0.0.1:18006', connection: 'direct' },
  ],
  adminKubeconfig: path.join(stateDir, 'admin.kubeconfig'),
  accessLog: path.join(stateDir, 'access-log.jsonl'),
  startedAt: new Date(Date.now() - 125_000).toISOString(),
});

/** A pid that belonged to a process which has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid;

test('a running stack: a short summary, one line per fact, not the raw file', async () => {
  writeStackDescriptor(stateDir, descriptor(process.pid));
  const r = await runCli(['dev', 'status', '--state-dir', stateDir]);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  const lines = r.stdout.split('\n');
  expect(lines[0]).toMatch(new RegExp(`^stack:\\s+running \\(pid ${process.pid}, up 2m\\d+s\\)$`));
  expect(r.stdout).toContain(`state dir:  ${stateDir}\n`);
  expect(r.stdout).toContain('edge:       https://127.0.0.1:18443\n');
  expect(r.stdout).toContain('clusters:   dev-1 (direct), dev-2 (direct)\n');
  expect(r.stdout).toContain(`admin:      export KUBECONFIG=${stateDir}/admin.kubeconfig\n`);
  expect(r.stdout).toContain('admin API:  https://127.0.0.1:18004\n');
  expect(r.stdout).toContain(`access log: ${stateDir}/access-log.jsonl\n`);
  expect(r.stdout).toContain('status:     http://127.0.0.1:18003/status\n');
  expect(r.stdout).not.toContain('{');
  expect(lines).toHaveLength(9);
  expect(r.stdout.endsWith('\n')).toBe(true);
});

test('-o json: everything stack.json holds, and whether it runs', async () => {
  writeStackDescriptor(stateDir, descriptor(process.pid));
  const r = await runCli(['dev', 'status', '-o', 'json', '--state-dir', stateDir]);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ running: true, stateDir, ...descriptor(process.pid), startedAt: expect.any(String) });
});

test('no stack, or one whose process is gone: exit 1 and say so, in text and in JSON', async () => {
  const none = await runCli(['dev', 'status', '--state-dir', stateDir]);
  expect(none).toEqual({ code: 1, stdout: `no local stack runs from ${stateDir}\n`, stderr: '' });
  expect(JSON.parse((await runCli(['dev', 'status', '-o', 'json', '--state-dir', stateDir])).stdout)).toEqual({ running: false, stateDir });

  const pid = deadPid();
  writeStackDescriptor(stateDir, descriptor(pid));
  const stale = await runCli(['dev', 'status', '--state-dir', stateDir]);
  expect(stale).toEqual({ code: 1, stdout: `the local stack recorded in ${stateDir} (pid ${pid}) is not running\n`, stderr: '' });
  expect(JSON.parse((await runCli(['dev', 'status', '-o', 'json', '--state-dir', stateDir])).stdout)).toEqual({ running: false, stateDir, stalePid: pid });
});

test.each([
  [['dev', 'status', '-o', 'yaml'], 'kubegate dev: -o yaml is not an output format here; use text or json\n'],
  [['dev', 'up', '-o', 'json'], 'kubegate dev: -o is for dev status\n'],
  [['dev', 'down', '-o', 'json'], 'kubegate dev: -o is for dev status\n'],
])('%j is a usage error', async (args, message) => {
  expect(await runCli([...args, '--state-dir', stateDir])).toEqual({ code: 2, stdout: '', stderr: message });
});
