/**
 * The kubegate command as a user runs it: the compiled CLI, a detached local stack, real
 * kubectl with the kubeconfigs it writes, and a clean `dev down`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { runCommand } from '../support/run-command';
import { loadToolchain } from '../../dev/toolchain/tools';
import { defaultPolicyText } from '../../control-plane/server/default-policies';
import { readStackDescriptor } from '../../control-plane/cli/stack-descriptor';
import { runningProcessesMentioning, waitUntil } from '../support/process-table';

jest.setTimeout(180_000);

const root = path.join(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'dev', 'cli', 'main.js');
const kubegate = (args: string[]) => runCommand(process.execPath, [cli, ...args], { timeoutMs: 170_000 });
const kubectl = (args: string[], input?: string) => runCommand(loadToolchain().kubectl, args, input === undefined ? {} : { input });

beforeAll(async () => {
  // The CLI runs from the compiled output; make sure it matches the sources under test.
  const built = await runCommand(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'tsconfig.json')], { timeoutMs: 120_000 });
  expect(built.stdout + built.stderr).toBe('');
});

describe('kubegate usage errors', () => {
  test('--help lists the commands', async () => {
    const r = await kubegate(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/kubeconfig\s+issue a kubeconfig/);
    expect(r.stdout).toMatch(/dev\s+run a local kubegate stack/);
  });

  test('an unknown command exits 2 and says so', async () => {
    const r = await kubegate(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });

  test('kubeconfig without --user exits 2', async () => {
    const r = await kubegate(['kubeconfig']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--user is required');
  });

  test('kubeconfig with a malformed --ttl names the problem', async () => {
    const r = await kubegate(['kubeconfig', '--user', 'alice', '--ttl', '8 hours', '--state-dir', os.tmpdir()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"8 hours" is not a duration');
  });

  test('kubeconfig with no stack running says how to start one', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-empty-'));
    const r = await kubegate(['kubeconfig', '--user', 'alice', '--state-dir', empty]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no local stack found in ${empty}: start one with 'kubegate dev up`);
  });

  test('an unknown option is a usage error', async () => {
    const r = await kubegate(['dev', 'up', '--turbo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown option '--turbo'");
  });

  test.each([
    [['dev', 'up', '--edge-port', 'abc'], '--edge-port "abc" is not a TCP port'],
    [['dev', 'up', '--clusters', '0'], '--clusters "0" must be a whole number from 1 to 10'],
    [['dev', 'sideways'], 'unknown subcommand "sideways"'],
    [['dev', 'up', '--max-cert-ttl', '48h'], "--max-cert-ttl 48h is longer than kubegate's ceiling of 24h"],
    [['dev', 'up', '--max-cert-ttl', 'forever'], '--max-cert-ttl: "forever" is not a duration'],
    [['dev', 'up', '--store', 'mysql://x'], '--store "mysql://x" is not a store URL'],
    [['dev', 'up', '--direct', '--no-firewall'], '--no-firewall is for tunnelled clusters'],
    [['dev', 'up', '-o', 'json'], '-o is for dev status'],
    [['dev', 'up', '--audit-config', '/nonexistent-kubegate-audit.yaml'], '--audit-config: audit settings /nonexistent-kubegate-audit.yaml: no such file'],
    [['dev', 'up', '--policy-dir', '/nonexistent-kubegate-dir'], '--policy-dir "/nonexistent-kubegate-dir" is not a directory'],
  ])('dev %j is refused', async (args, message) => {
    const r = await kubegate(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});

const DEV_POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: dev-pods}
spec:
  subjects: {groups: [dev]}
  clusters: {all: true}
  rules:
    - apiGroups: [""]
      resources: [pods]
      verbs: [get, list]
      namespaces: [default]
  clusterRoles: [{name: view, namespaces: [default]}]
`;


describe('a detached local stack', () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-cli-'));

  afterAll(async () => {
    await kubegate(['dev', 'down', '--state-dir', stateDir]);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('starts, serves kubectl with the kubeconfigs it issues, refuses a second start, and stops cleanly', async () => {
    const up = await kubegate(['dev', 'up', '--detach', '--state-dir', stateDir]);
    expect(up.stderr).not.toContain('level":"error');
    expect(up.code).toBe(0);
    const d = readStackDescriptor(stateDir);
    expect(up.stdout).toContain(`The edge listens on ${d.edgeUrl}`);
    expect(up.stdout).toContain(`export KUBECONFIG=${d.adminKubeconfig}`);

    const admin = await kubectl(['--kubeconfig', d.adminKubeconfig, 'get', 'namespace', 'default', '-o', 'name']);
    expect(admin.stdout.trim()).toBe('namespace/default');

    // The operator's flow with the real CLI against the running stack's admin API.
    const created = await kubegate(['user', 'create', 'alice', '--group', 'dev', '--state-dir', stateDir]);
    expect(created.stderr).toBe('');
    expect(created.stdout).toContain('created user alice (groups: dev)');
    const policyDir = path.join(stateDir, 'my-policies');
    fs.mkdirSync(policyDir);
    fs.writeFileSync(path.join(policyDir, 'admins.yaml'), defaultPolicyText());
    fs.writeFileSync(path.join(policyDir, 'dev.yaml'), DEV_POLICY);
    const invalid = path.join(stateDir, 'invalid.yaml');
    fs.writeFileSync(invalid, DEV_POLICY.replace('verbs: [get, list]', 'verbs: [get, lsit]'));
    const refused = await kubegate(['policy', 'apply', invalid, '--state-dir', stateDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ERR_POLICY_UNKNOWN_VERB');
    const applied = await kubegate(['policy', 'apply', policyDir, '--state-dir', stateDir]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    // It ends its last line, so what the shell prints next starts on a line of its own.
    expect(applied.stdout).toMatch(/\n {2}\+ AccessPolicy\/dev-pods\n$/);

    const aliceFile = path.join(stateDir, 'alice.kubeconfig');
    const issued = await kubegate(['kubeconfig', '--user', 'alice', '--ttl', '30m', '-o', aliceFile, '--state-dir', stateDir]);
    expect(issued.code).toBe(0);
    expect(issued.stderr).toContain('alice');
    expect(fs.statSync(aliceFile).mode & 0o777).toBe(0o600);
    // The dev stack's cluster is behind a firewall: its agent binds what clusterRoles grants to
    // alice's own ServiceAccount on her first request, and the cluster's RBAC applies after it.
    const pods = await kubectl(['--kubeconfig', aliceFile, 'get', 'pods', '-n', 'default']);
    expect(pods.stderr).toContain('No resources found');
    expect(pods.code).toBe(0);
    const forbidden = await kubectl(['--kubeconfig', aliceFile, 'get', 'secrets', '-A']);
    expect(forbidden.code).not.toBe(0);
    expect(forbidden.stderr).toContain('kubegate: user "alice" cannot list secrets');

    const revoked = await kubegate(['revoke', '--user', 'alice', '--state-dir', stateDir]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked [1-9]\d* certificate\(s\) of user alice at \S+\n$/);
    const afterRevoke = await kubectl(['--kubeconfig', aliceFile, 'get', 'pods', '-n', 'default']);
    expect(afterRevoke.code).not.toBe(0);
    expect(afterRevoke.stderr).toContain('revoked');

    const again = await kubegate(['dev', 'up', '--state-dir', stateDir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`a local stack already runs from ${stateDir} (pid ${d.pid})`);

    // A summary for people, everything for scripts.
    const status = await kubegate(['dev', 'status', '--state-dir', stateDir]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^stack:\\s+running \\(pid ${d.pid}, up `));
    expect(status.stdout).toMatch(/^clusters:\s+dev \(tunnel\)$/m);
    const statusJson = await kubegate(['dev', 'status', '-o', 'json', '--state-dir', stateDir]);
    expect(JSON.parse(statusJson.stdout)).toMatchObject({ running: true, stateDir, edgeUrl: d.edgeUrl });

    const down = await kubegate(['dev', 'down', '--state-dir', stateDir]);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain(`local stack stopped (pid ${d.pid})`);
    // etcd, kube-apiserver and Envoy all name the state directory on their command lines.
    expect(await waitUntil(() => runningProcessesMentioning(stateDir).length === 0, 20_000)).toBe(true);
    expect(fs.existsSync(path.join(stateDir, 'stack.json'))).toBe(false);
  });
});

describe('a foreground local stack', () => {
  test('runs until Ctrl-C (SIGINT), then stops everything and exits 0', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-fg-'));
    const child = spawn(process.execPath, [cli, 'dev', 'up', '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      expect(await waitUntil(() => stdout.includes('Press Ctrl-C to stop.'), 120_000)).toBe(true);
      const d = readStackDescriptor(stateDir);
      expect(d.pid).toBe(child.pid);
      const r = await kubectl(['--kubeconfig', d.adminKubeconfig, 'get', 'namespace', 'kube-system', '-o', 'name']);
      expect(r.stdout.trim()).toBe('namespace/kube-system');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(runningProcessesMentioning(stateDir)).toEqual([]);
      expect(fs.existsSync(path.join(stateDir, 'stack.json'))).toBe(false);
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
