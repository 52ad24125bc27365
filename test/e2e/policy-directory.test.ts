/**
 * GitOps end to end: the local stack started with a policy directory keeps the policy set
 * equal to its files. An edit reaches the real edge by itself; a file that does not validate
 * changes nothing, and the control plane's /status says what is wrong and where.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalStack, type LocalStack } from '../../dev/stack/local-stack';
import { silentLogger } from '../../control-plane/log/logger';
import { defaultPolicyText } from '../../control-plane/server/default-policies';
import { issueUserCertificate } from '../../control-plane/credentials/user-certificate';
import { userServerName } from '../../control-plane/identity/user-identity';
import { tlsRequest } from '../support/tls-request';

jest.setTimeout(180_000);

let stack: LocalStack;
let stateDir: string;
let policyDir: string;

const readers = (verbs: string) => `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: readers}
spec:
  subjects: {users: [rita]}
  clusters: {all: true}
  rules:
    - {apiGroups: [""], resources: [configmaps], verbs: [${verbs}], namespaces: [default]}
`;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-gitops-e2e-'));
  policyDir = path.join(stateDir, 'policies');
  fs.mkdirSync(policyDir);
  fs.writeFileSync(path.join(policyDir, 'admins.yaml'), defaultPolicyText());
  fs.writeFileSync(path.join(policyDir, 'readers.yaml'), readers('list'));
  stack = await startLocalStack({ stateDir, clusters: ['alpha'], policyDir, logger: silentLogger });
  await stack.createUser('rita', []);
  // rita may list ConfigMaps in the cluster too, so the edge is what decides.
  const rbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-rita-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: rita}]
`;
  expect((await stack.clusters[0]!.kubectl(['apply', '-f', '-'], rbac)).code).toBe(0);
});

afterAll(async () => {
  await stack?.stop();
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
});

function asRita(urlPath: string) {
  const cert = issueUserCertificate(stack.pki.userCa, { user: 'rita', ttlMs: 600_000, now: new Date() });
  return tlsRequest({ url: `${stack.edgeUrl}${urlPath}`, caPem: stack.pki.servingCa.certPem, certPem: cert.certPem, keyPem: cert.keyPem, servername: userServerName('rita') });
}

function status(): Promise<{ policyDirectory: { lastError: { errors: { file: string; code: string; line: number }[] } | null; lastAppliedRevision: number } }> {
  return new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${stack.controlPlane.statusPort}/status`, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('the files are the policy set in force, and an edit reaches the edge by itself', async () => {
  expect((await stack.store.getPolicySet()).appliedBy).toMatch(/^directory:/);
  expect((await asRita('/clusters/alpha/api/v1/namespaces/default/configmaps')).status).toBe(200);
  expect((await asRita('/clusters/alpha/api/v1/namespaces/default/configmaps/x')).status).toBe(403);
  fs.writeFileSync(path.join(policyDir, 'readers.yaml'), readers('get, list'));
  // Now a get of a missing ConfigMap passes the edge and reaches the apiserver (404 from there).
  await waitFor(async () => (await asRita('/clusters/alpha/api/v1/namespaces/default/configmaps/x')).status === 404, 15_000, 'the edit applies');
});

test('a file that does not validate changes nothing and /status says what and where', async () => {
  const before = await stack.store.getPolicySet();
  fs.writeFileSync(path.join(policyDir, 'broken.yaml'), readers('get, lsit').replace('name: readers', 'name: broken'));
  const reported = await waitFor(async () => (await status()).policyDirectory.lastError, 15_000, 'the error is reported');
  expect(reported.errors).toEqual(expect.arrayContaining([expect.objectContaining({ file: 'broken.yaml', code: 'ERR_POLICY_UNKNOWN_VERB', line: 8 })]));
  expect((await stack.store.getPolicySet()).revision).toBe(before.revision);
  expect((await asRita('/clusters/alpha/api/v1/namespaces/default/configmaps')).status).toBe(200);

  fs.rmSync(path.join(policyDir, 'broken.yaml'));
  fs.rmSync(path.join(policyDir, 'readers.yaml'));
  await waitFor(async () => (await status()).policyDirectory.lastError === null && (await asRita('/clusters/alpha/api/v1/namespaces/default/configmaps')).status === 403, 15_000, 'removing the policy takes rita’s access away');
});
