/**
 * Several control planes share one PostgreSQL store. Here the edge's control plane runs on a
 * real PostgreSQL, and a second replica (its own store connection, as another control-plane
 * process would have) makes the changes: the edge's control plane learns of them through
 * LISTEN/NOTIFY alone, without anyone calling refresh, and enforces them at once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { startLocalStack, type LocalStack } from '../../dev/stack/local-stack';
import { silentLogger } from '../../control-plane/log/logger';
import { openStore } from '../../control-plane/store/open-store';
import type { Store } from '../../control-plane/store/store';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';
import { runCommand } from '../support/run-command';

jest.setTimeout(180_000);

/** A drained stream closes after Envoy's 1 s drain time; this only rules out any other cause. */
const DRAINED_WITHIN_MS = 15_000;

let pg: PostgresServer;
let stack: LocalStack;
let otherReplica: Store;
let stateDir: string;
let databaseUrl: string;

const READERS = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: readers}
spec:
  subjects: {groups: [readers]}
  clusters: {all: true}
  rules:
    - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch], namespaces: [default]}
`;

beforeAll(async () => {
  pg = await startPostgresServer();
  databaseUrl = await pg.createDatabase();
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-pg-e2e-'));
  stack = await startLocalStack({ stateDir, clusters: ['alpha'], storeUrl: databaseUrl, logger: silentLogger });
  otherReplica = await openStore(databaseUrl);
  // An explicit role: the built-in view role is filled by kube-controller-manager's
  // aggregation controller, which this cluster harness does not run.
  const rbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-configmap-reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-readers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-configmap-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: readers}]
`;
  expect((await stack.clusters[0]!.kubectl(['apply', '-f', '-'], rbac)).code).toBe(0);
});

afterAll(async () => {
  await otherReplica?.close();
  await stack?.stop();
  await pg?.stop();
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
});

async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the stack runs on PostgreSQL: users, policies and certificates live there', async () => {
  expect(stack.store.kind).toBe('postgres');
  const database = new URL(databaseUrl).pathname.slice(1);
  const rows = await pg.query<{ name: string }>('SELECT name FROM users ORDER BY name', [], database);
  expect(rows.map((r) => r.name)).toContain('admin');
  const policies = await pg.query<{ file_name: string }>('SELECT file_name FROM policy_files', [], database);
  expect(policies.map((p) => p.file_name)).toContain('local-stack-defaults.yaml');
});

test("a user, a policy and a revocation made through another replica reach this replica's edge by themselves", async () => {
  const now = Date.now();
  await otherReplica.createUser({ name: 'ruth', groups: ['readers'], now });
  const current = await otherReplica.getPolicySet();
  await otherReplica.applyPolicySet({
    files: [...current.files, { fileName: 'readers.yaml', text: READERS }],
    appliedAt: now,
    appliedBy: 'replica-2',
    expectedRevision: current.revision,
  });
  // No refresh here: the edge's control plane hears of it over LISTEN/NOTIFY.
  await waitFor(() => stack.controlPlane.access.user('ruth') && stack.controlPlane.access.policyRevision === current.revision + 1, 10_000, 'the change reaches the edge replica');
  const kubeconfig = await stack.writeKubeconfig({ user: 'ruth' });
  const list = await runCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmaps', '-n', 'default']);
  expect(list.code).toBe(0);
  expect(list.stderr).toContain('No resources found in default namespace');

  const watch = spawn(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmaps', '-n', 'default', '-w']);
  let out = '';
  watch.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => watch.on('exit', () => resolve()));
  try {
    expect((await stack.clusters[0]!.kubectl(['create', 'configmap', 'seen-by-ruth', '-n', 'default'])).code).toBe(0);
    await waitFor(() => out.includes('seen-by-ruth'), 15_000, 'the watch is established');
    const started = Date.now();
    await otherReplica.revokeUser('ruth', started, 'replica-2');
    await exited;
    const closedAfterMs = Date.now() - started;
    // Functional, not a performance figure: closed by the drain, not the 4 h backstop.
    expect(closedAfterMs).toBeLessThan(DRAINED_WITHIN_MS);
    const again = await runCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmaps', '-n', 'default']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/revoked/);
  } finally {
    watch.kill('SIGKILL');
  }
});
