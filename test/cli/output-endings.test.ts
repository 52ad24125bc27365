/**
 * Every kubegate command, run as a shell runs it (the compiled CLI as its own process, output
 * through pipes), ends what it prints with a newline, so the shell's next output starts on a
 * line of its own. Why: `policy apply` and `revoke` were seen running on into the next
 * command's output. The list of runs is checked against the CLI's own command table, so a new
 * command or subcommand without a run here fails this test instead of going unchecked.
 * `dev up` itself starts a real stack: its output is checked in test/e2e/cli*.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHECKOUT_COMMANDS as COMMANDS } from '../../dev/cli/main';
import { SqliteAuditLog } from '../../control-plane/audit-storage/sqlite-audit-log';
import type { AuditLog } from '../../control-plane/audit/audit-log';
import { ApiHarness, BREAK_GLASS_POLICIES, POLICIES } from '../api/api-harness';
import { manyEvents } from '../audit/audit-fixtures';
import { runCommand, type CommandResult } from '../support/run-command';

jest.setTimeout(300_000);

const root = path.join(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'dev', 'cli', 'main.js');

let h: ApiHarness;
let audit: AuditLog;
let auditDir: string;

beforeAll(async () => {
  // The processes run the compiled output; make sure it matches the sources under test.
  const built = await runCommand(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'tsconfig.json')], { timeoutMs: 240_000 });
  expect(built.stdout + built.stderr).toBe('');
  auditDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-endings-'));
  audit = await SqliteAuditLog.open(path.join(auditDir, 'audit.db'));
  await audit.append(manyEvents(5));
  const agentInstall = { hubAgentEndpoint: 'hub.test.invalid:18003', hubCaPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', images: { agent: 'a@sha256:1', envoy: 'e@sha256:2' }, allowedClusterRoles: ['view'], publicUrl: 'https://hub.test.invalid:18006', servingCaPem: 'harness-ca' as const };
  h = await ApiHarness.start({ audit, agentInstall });
  await h.addUser('dana', ['dev']);
  await h.addUser('olive', ['oncall']);
  await h.addUser('lead1', ['sre-leads']);
  await h.addUser('lead2', ['sre-leads']);
});
afterAll(async () => {
  await h?.close();
  await audit?.close();
  fs.rmSync(auditDir, { recursive: true, force: true });
});

interface Run {
  readonly args: readonly string[];
  /** Who calls the API (adds --server and --kubeconfig); null: no connection options. */
  readonly as: string | null;
  readonly result: CommandResult;
}

const runs: Run[] = [];

async function kubegate(as: string | null, args: readonly string[]): Promise<CommandResult> {
  const connection = as === null ? [] : ['--server', h.server.url, '--kubeconfig', await h.kubeconfigFor(as)];
  const result = await runCommand(process.execPath, [cli, ...args, ...connection], { timeoutMs: 30_000 });
  runs.push({ args, as, result });
  return result;
}

/** Runs the command and checks its exit code; returns its standard output. */
async function run(as: string | null, args: readonly string[], code = 0): Promise<string> {
  const r = await kubegate(as, args);
  expect({ args, code: r.code, ...(r.code === code ? {} : { stderr: r.stderr }) }).toEqual({ args, code });
  return r.stdout;
}

const endsCleanly = (text: string) => text === '' || text.endsWith('\n');

test('every command and subcommand, with and without --help, ends its output with a newline', async () => {
  const policyDir = path.join(h.dir, 'policies');
  fs.mkdirSync(policyDir);
  fs.writeFileSync(path.join(policyDir, 'access.yaml'), POLICIES);
  fs.writeFileSync(path.join(policyDir, 'break-glass.yaml'), BREAK_GLASS_POLICIES);
  fs.writeFileSync(path.join(policyDir, 'more.yaml'), 'apiVersion: kubegate.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: dev-readers}\nspec:\n  subjects: {groups: [dev]}\n  clusters: {names: [gamma]}\n  clusterRoles: [{name: view}]\n');
  const badFile = path.join(h.dir, 'bad.yaml');
  fs.writeFileSync(badFile, POLICIES.replace('clusterRoles: [{name: edit}]', 'accessMode: sometimes'));
  const emptyState = path.join(h.dir, 'no-stack');
  fs.mkdirSync(emptyState);

  // Help at every level, and the usage errors of the top level.
  await run(null, ['--help']);
  await run(null, [], 2);
  await run(null, ['clusters'], 2);
  for (const [name, command] of Object.entries(COMMANDS)) {
    await run(null, [name, '--help']);
    for (const sub of command.subcommands ?? []) await run(null, [name, sub, '--help']);
  }

  await run('root', ['user', 'create', 'erin', '--group', 'dev']);
  await run('root', ['user', 'list']);
  await run('root', ['user', 'list', '-o', 'json']);
  await run('root', ['user', 'show', 'erin']);
  await run('root', ['user', 'show', 'nobody'], 1);
  await run('root', ['user', 'set-groups', 'erin', '--group', 'dev', '--group', 'ops']);
  await run('root', ['user', 'disable', 'erin']);
  await run('root', ['user', 'enable', 'erin']);
  await run('root', ['user', 'create'], 2);

  await run('root', ['group', 'create', 'payments', '--description', 'the payments team']);
  await run('root', ['group', 'add-member', 'payments', 'erin']);
  await run('root', ['group', 'list']);
  await run('root', ['group', 'remove-member', 'payments', 'erin']);
  await run('root', ['group', 'delete', 'payments']);

  await run(null, ['policy', 'validate', policyDir]);
  await run(null, ['policy', 'validate', badFile], 1);
  await run('root', ['policy', 'diff', policyDir]);
  await run('root', ['policy', 'apply', badFile], 1);
  expect(await run('root', ['policy', 'apply', policyDir])).toContain('+ AccessPolicy/dev-readers\n');
  expect(await run('root', ['policy', 'apply', policyDir])).toContain('no changes');
  await run('root', ['policy', 'get']);
  await run('root', ['policy', 'get', '-o', 'yaml']);

  const kubeconfigFile = path.join(h.dir, 'erin.kubeconfig');
  await run('root', ['kubeconfig', '--user', 'erin', '--ttl', '1h', '-o', kubeconfigFile]);
  await run('root', ['kubeconfig', '--user', 'erin', '--cluster', 'alpha']);
  await run('root', ['kubeconfig', '--user', 'nobody'], 1);
  expect(await run('root', ['revoke', '--user', 'erin'])).toMatch(/^revoked 2 certificate\(s\) of user erin/);
  await run('root', ['revoke'], 2);

  const first = JSON.parse(await run('olive', ['breakglass', 'request', '--policy', 'oncall-beta-admin', '--cluster', 'beta', '--duration', '1h', '--reason', 'INC-1', '-o', 'json'])).request.id;
  await run('olive', ['breakglass', 'list']);
  await run('lead1', ['breakglass', 'approve', first]);
  await run('lead2', ['breakglass', 'reject', first, '--reason', 'not now']);
  await run('olive', ['breakglass', 'request', '--policy', 'oncall-beta-admin', '--cluster', 'beta', '--duration', '1h', '--reason', 'INC-2']);
  const second = JSON.parse(await run('olive', ['breakglass', 'list', '--state', 'pending', '-o', 'json'])).requests[0].id;
  await run('olive', ['breakglass', 'cancel', second, '--reason', 'fixed']);

  const session = (await run('dana', ['session', 'start'])).trim();
  await run('dana', ['session', 'touch', session]);
  await run('dana', ['session', 'stop', session]);

  await run('dana', ['cluster', 'list']);
  await run('root', ['cluster', 'join-token', 'edge-site', '--ttl', '10m']);
  await run('root', ['cluster', 'add', 'edge-new', '--label', 'env=dev', '--ttl', '10m']);
  await run('root', ['cluster', 'install-link', 'edge-new', '-o', 'json']);
  await run('root', ['cluster', 'add', 'edge-new'], 1);
  await run('root', ['cluster', 'register', 'edge-hand', '--label', 'env=dev']);
  await run('dana', ['cluster', 'show', 'edge-hand']);
  await run('root', ['cluster', 'show', 'edge-hand', '-o', 'json']);
  await run('root', ['cluster', 'remove', 'edge-hand']);
  await run('root', ['cluster', 'remove', 'edge-hand'], 1);
  await run('dana', ['whoami']);
  await run('dana', ['whoami', '-o', 'json']);

  await run('root', ['audit', '--limit', '3']);
  await run('root', ['audit', '-o', 'json', '--limit', '3']);
  await run('root', ['audit', 'verify']);
  const incomplete = await kubegate('root', ['audit', 'incomplete']);
  expect([0, 3]).toContain(incomplete.code);

  await run(null, ['dev', 'status', '--state-dir', emptyState], 1);
  await run(null, ['dev', 'status', '-o', 'json', '--state-dir', emptyState], 1);
  await run(null, ['dev', 'down', '--state-dir', emptyState]);
  await run(null, ['dev', 'up', '--clusters', '0', '--state-dir', emptyState], 2);
  await run(null, ['dev', 'images'], 2);
  // Installs the toolchain's Kubernetes provider into the empty state's PULUMI_HOME, then prints the exports.
  expect(await run(null, ['dev', 'pulumi-env', '--state-dir', emptyState])).toMatch(/^export PULUMI_HOME=/m);

  const hubCa = path.join(h.dir, 'hub-ca.crt');
  fs.writeFileSync(hubCa, '-----BEGIN CERTIFICATE-----\nHUB-CA\n-----END CERTIFICATE-----\n');
  const agentProps = ['--set', 'cluster=edge-a', '--set', 'hubAgentEndpoint=hub:18003', '--set', 'images.agent=a@sha256:1', '--set', 'images.envoy=e@sha256:2', '--set', 'allowedClusterRoles={view}', '--set-file', `hubCaPem=${hubCa}`];
  expect(await run(null, ['manifests', 'agent', ...agentProps])).toContain('kind: Deployment\n');
  await run(null, ['manifests', 'agent'], 2);
  expect(await run(null, ['manifests', 'hub', '--set', `images.controller=c@sha256:${'1'.repeat(64)}`, '--set', `images.envoy=e@sha256:${'2'.repeat(64)}`, '--set', 'edgeUrl=https://hub.example'])).toContain('kind: Deployment\n');
  await run(null, ['chart', 'agent', '--out', path.join(h.dir, 'agent-chart')]);
  await run(null, ['chart', 'hub', '--out', path.join(h.dir, 'hub-chart')]);
  await run('root', ['user', 'delete', 'erin']);

  // Every subcommand, and every command that runs without one, was run for real, not only
  // asked for help. (`audit` is both: a query itself, and `audit verify`, `audit incomplete`.)
  const ran = runs.filter((r) => !r.args.includes('--help')).map((r) => r.args.join(' ') + ' ');
  const expected = Object.entries(COMMANDS).flatMap(([name, c]) => [
    ...(c.subcommands ?? []).map((sub) => `${name} ${sub} `),
    ...(!c.subcommands || name === 'audit' ? [`${name} `] : []),
  ]);
  expect(expected.filter((key) => !ran.some((r) => r.startsWith(key)))).toEqual([]);

  // What each printed: something, and every stream that got output ends with a newline.
  const unclean = runs
    .filter((r) => !endsCleanly(r.result.stdout) || !endsCleanly(r.result.stderr) || r.result.stdout + r.result.stderr === '')
    .map((r) => ({ args: r.args.join(' '), stdoutEnd: JSON.stringify(r.result.stdout.slice(-40)), stderrEnd: JSON.stringify(r.result.stderr.slice(-40)) }));
  expect(unclean).toEqual([]);
  expect(runs.length).toBeGreaterThan(80);
});
