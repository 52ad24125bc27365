/**
 * Why: "importing a cluster takes one command on it". On real components, end to end: a local
 * stack's hub registers a cluster with `kubegate cluster add` (the real CLI), and the one line
 * it prints, run by bash with the real kubectl against a second, real kube-apiserver, creates
 * the agent's objects exactly as `kubegate manifests agent` renders them for the same props. The
 * same line again, a link past its expiry and a wrong token are refused, and a kubectl that
 * does not hold the hub's CA cannot even fetch the link, which stays unused. The curl form
 * printed for macOS works the same way.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startLocalStack, type LocalStack } from '../../dev/stack/local-stack';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { LOCAL_ALLOWED_CLUSTER_ROLES } from '../../dev/stack/tunnel-site';
import { LOCAL_PLACEHOLDER_IMAGES } from '../../dev/stack/local-agent-install';
import { silentLogger } from '../../control-plane/log/logger';
import { runCommand } from '../support/run-command';
import { runCli } from '../cli/run-cli';

jest.setTimeout(180_000);

let stack: LocalStack;
let member: LocalCluster;
let stateDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-cluster-add-e2e-'));
  // One direct cluster, so the stack's admin has a kubeconfig (the CLI's credential).
  stack = await startLocalStack({ stateDir, logger: silentLogger });
  member = await startLocalCluster({ name: 'imported', stateDir: path.join(stateDir, 'member'), toolchain: stack.toolchain, logger: silentLogger });
  // What the cluster's admin has: kubectl on the PATH and the cluster's own kubeconfig.
  env = { PATH: `${path.dirname(stack.toolchain.kubectl)}:${process.env.PATH ?? ''}`, HOME: stateDir, KUBECONFIG: member.adminKubeconfigPath };
});

afterAll(async () => {
  await member?.stop();
  await stack?.stop();
  if (stateDir && !process.env.KUBEGATE_KEEP_STATE) fs.rmSync(stateDir, { recursive: true, force: true });
});

const kubegate = (args: string[]) => runCli([...args, '--server', stack.apiUrl, '--kubeconfig', stack.adminKubeconfigPath]);
const bash = (line: string, extraEnv: NodeJS.ProcessEnv = {}) => runCommand('bash', ['-c', line], { env: { ...env, ...extraEnv }, timeoutMs: 60_000 });
const memberKubectl = (args: string[]) => runCommand(stack.toolchain.kubectl, ['--kubeconfig', member.adminKubeconfigPath, ...args]);

/** The first line `cluster add` / `install-link` printed, and the link inside it. */
function oneLiner(stdout: string): { line: string; url: string } {
  const line = stdout.split('\n')[0]!;
  const url = /kubectl apply -f '([^']+)'$/.exec(line)?.[1];
  if (!url) throw new Error(`no one-liner in: ${stdout}`);
  return { line, url };
}

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

let first: { line: string; url: string };

test('cluster add registers the cluster and prints one line; a kubectl without the hub CA cannot fetch the link', async () => {
  const added = await kubegate(['cluster', 'add', 'imported', '--label', 'env=prod', '--label', 'region=eu-1', '--ttl', '10m']);
  expect(added.stderr).toBe('');
  expect(added.code).toBe(0);
  first = oneLiner(added.stdout);
  expect(first.line).toMatch(/^SSL_CERT_FILE=<\(printf -- '-----BEGIN CERTIFICATE-----\\n[^']+\\n-----END CERTIFICATE-----\\n'\) kubectl apply -f 'https:\/\/127\.0\.0\.1:\d+\/install\/[0-9a-f]{12}\.[A-Za-z0-9_-]{43}'$/);
  expect(first.url.startsWith(`${stack.installUrl}/install/`)).toBe(true);
  const listed = await kubegate(['cluster', 'list', '-o', 'json']);
  expect(JSON.parse(listed.stdout).clusters).toContainEqual(expect.objectContaining({ name: 'imported', labels: { env: 'prod', region: 'eu-1' }, connection: 'tunnel', agent: expect.objectContaining({ status: 'never-connected' }) }));

  // Verification really happens: kubectl with only the system's roots, or with another CA, refuses the hub.
  const plain = await bash(`kubectl apply -f '${first.url}'`);
  expect(plain.code).not.toBe(0);
  expect(plain.stderr).toMatch(/x509: certificate signed by unknown authority|failed to verify certificate/);
  const otherCa = path.join(stateDir, 'other-ca.crt');
  fs.writeFileSync(otherCa, member.caPem);
  const other = await bash(`kubectl apply -f '${first.url}'`, { SSL_CERT_FILE: otherCa });
  expect(other.code).not.toBe(0);
  expect(other.stderr).toMatch(/unknown authority|failed to verify/);
  // The TLS refusals did not spend the link.
  const [token] = await stack.store.listInstallTokens({ cluster: 'imported' });
  expect(token!.usedAt).toBeUndefined();
  expect((await memberKubectl(['get', 'namespace', 'kubegate-system'])).code).not.toBe(0);
});

test("the line, run in bash with the real kubectl, creates the agent's objects as `kubegate manifests agent` renders them", async () => {
  const r = await bash(first.line);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/namespace\/kubegate-system created/);
  expect(r.stdout).toMatch(/deployment\.apps\/kubegate-agent created/);

  // The join token the hub put in: the one join token it made for this cluster, unused.
  const tokenB64 = await memberKubectl(['get', 'secret', 'kubegate-join-token', '-n', 'kubegate-system', '-o', 'jsonpath={.data.token}']);
  expect(tokenB64.code).toBe(0);
  const joinToken = Buffer.from(tokenB64.stdout, 'base64').toString('utf8');
  const [join] = await stack.store.listJoinTokens({ cluster: 'imported' });
  expect(joinToken.startsWith(`${join!.id}.`)).toBe(true);
  expect(join!.usedAt).toBeUndefined();

  // The same props through the CLI's own renderer.
  const caFile = path.join(stateDir, 'hub-ca.crt');
  fs.writeFileSync(caFile, stack.pki.internalCa.certPem);
  const rendered = await runCli([
    'manifests', 'agent',
    '--set', 'cluster=imported',
    '--set', 'labels.env=prod',
    '--set', 'labels.region=eu-1',
    '--set', `hubAgentEndpoint=127.0.0.1:${stack.controlPlane.agents!.port}`,
    '--set-file', `hubCaPem=${caFile}`,
    '--set', `images.agent=${LOCAL_PLACEHOLDER_IMAGES.agent}`,
    '--set', `images.envoy=${LOCAL_PLACEHOLDER_IMAGES.envoy}`,
    '--set', `allowedClusterRoles={${LOCAL_ALLOWED_CLUSTER_ROLES.join(',')}}`,
    '--set', `joinToken=${joinToken}`,
  ]);
  expect(rendered.code).toBe(0);
  const expected = parseAllDocuments(rendered.stdout).map((d) => d.toJSON() as KubeObject);
  expect(expected.length).toBeGreaterThan(8);
  for (const want of expected) {
    const resource = `${want.kind.toLowerCase()}.${want.apiVersion.includes('/') ? want.apiVersion.split('/')[0] : ''}`.replace(/\.$/, '');
    const got = await memberKubectl(['get', resource, want.metadata.name, ...(want.metadata.namespace ? ['-n', want.metadata.namespace] : []), '-o', 'json']);
    expect({ object: `${want.kind}/${want.metadata.name}`, code: got.code, stderr: got.stderr }).toEqual({ object: `${want.kind}/${want.metadata.name}`, code: 0, stderr: '' });
    const live = JSON.parse(got.stdout) as Record<string, unknown> & KubeObject;
    for (const field of ['rules', 'roleRef', 'subjects', 'data'] as const) if (field in want) expect(live[field]).toEqual(want[field]);
    if (want.kind === 'Secret' && want.stringData) {
      const decoded = Object.fromEntries(Object.entries((live.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
      expect(decoded).toEqual(want.stringData);
    }
    if (want.kind === 'Deployment') {
      const spec = (o: KubeObject) => (o as unknown as { spec: { template: { spec: { containers: { name: string; image: string; args: string[] }[] } } } }).spec.template.spec;
      expect(spec(live).containers.map((c) => [c.name, c.image, c.args])).toEqual(spec(want).containers.map((c) => [c.name, c.image, c.args]));
    }
  }
});

test('the same line again is refused, and creates nothing new', async () => {
  const r = await bash(first.line);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/410 Gone/);
  expect((await stack.store.listJoinTokens({ cluster: 'imported' })).length).toBe(1);
});

test('a link past its expiry is refused; so is a wrong token', async () => {
  const shortLived = await kubegate(['cluster', 'install-link', 'imported', '--ttl', '1s']);
  expect(shortLived.code).toBe(0);
  const expired = oneLiner(shortLived.stdout);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const late = await bash(expired.line);
  expect(late.code).not.toBe(0);
  expect(late.stderr).toMatch(/410 Gone/);

  const fresh = oneLiner((await kubegate(['cluster', 'install-link', 'imported'])).stdout);
  const wrong = fresh.line.replace(/\.[A-Za-z0-9_-]{43}'$/, `.${'x'.repeat(43)}'`);
  expect(wrong).not.toBe(fresh.line);
  const refused = await bash(wrong);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/404 Not Found/);
  // Guessing did not spend the real link: it still installs (an upgrade in place: unchanged).
  const ok = await bash(fresh.line);
  expect(ok.stderr).toBe('');
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/deployment\.apps\/kubegate-agent (unchanged|configured)/);
});

test('the curl form (for a kubectl that ignores SSL_CERT_FILE) verifies the hub the same way and works once', async () => {
  const r = await kubegate(['cluster', 'install-link', 'imported', '-o', 'json']);
  const { curlCommand } = JSON.parse(r.stdout) as { curlCommand: string };
  const ok = await bash(`set -o pipefail; ${curlCommand}`);
  expect(ok.stderr).toBe('');
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/deployment\.apps\/kubegate-agent (unchanged|configured)/);
  const again = await bash(`set -o pipefail; ${curlCommand}`);
  expect(again.code).not.toBe(0);
  expect(again.stderr).toMatch(/410/);
});
