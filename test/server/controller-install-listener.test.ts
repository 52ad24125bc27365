/**
 * Why: the controller as its own process (`kubegate-controller --config FILE`, what a pod runs)
 * must start the install listener its configuration's agentInstall and ports.install describe,
 * and hand out links that point at it. The compiled controller, a real configuration file, real
 * HTTPS: an administrator registers a cluster through the admin API, and the link serves the
 * manifest with the configured images once, to a client with no certificate, then 410.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { loadOrCreatePki, type KubegatePki } from '../../control-plane/pki/kubegate-pki';
import { issueUserCertificate } from '../../control-plane/credentials/user-certificate';
import { getFreePorts } from '../../dev/process/free-port';
import { ManagedProcess } from '../../dev/process/managed-process';
import { compiledEntry } from '../../dev/toolchain/compiled-entry';
import { eventually } from '../support/streaming-command';

jest.setTimeout(120_000);

const IMAGES = { agent: 'registry.test.invalid/kubegate/agent@sha256:1111', envoy: 'registry.test.invalid/kubegate/envoy@sha256:2222' };

let stateDir: string;
let controller: ManagedProcess | undefined;
let pki: KubegatePki;
let ports: { api: number; install: number; status: number; agent: number };

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-install-listener-'));
  const [xds, authz, status, agent, tunnel, api, install, edge] = await getFreePorts(8);
  ports = { api: api!, install: install!, status: status!, agent: agent! };
  const configFile = path.join(stateDir, 'controller.yaml');
  fs.writeFileSync(
    configFile,
    stringify({
      stateDir: '.',
      ports: { xds, authz, status, agent, tunnel, api, install },
      edge: { nodeId: 'edge-0', listenPort: edge, url: `https://127.0.0.1:${edge}` },
      agentInstall: { hubAgentEndpoint: `hub.test.invalid:${agent}`, images: IMAGES, allowedClusterRoles: ['view'], tokenTtl: '2m' },
    }),
  );
  controller = ManagedProcess.start({ component: 'kubegate-controller', binary: process.execPath, args: [compiledEntry('control-plane/server/main.js'), '--config', configFile], logFile: path.join(stateDir, 'controller.log') });
  // Ready once it says so: the admin API and the install listener listen by then.
  const log = path.join(stateDir, 'controller.log');
  await eventually('the controller to be ready', async () => (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('"msg":"controller ready"') ? true : undefined));
  // The controller made its PKI in the state directory; the test calls the API as admin with it.
  pki = loadOrCreatePki({ stateDir, now: new Date() });
});

afterAll(async () => {
  await controller?.stop();
  if (stateDir && !process.env.KUBEGATE_KEEP_STATE) fs.rmSync(stateDir, { recursive: true, force: true });
});

function request(url: string, options: https.RequestOptions, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { ...options, agent: false, ...(body !== undefined ? { method: 'POST', headers: { 'content-type': 'application/json' } } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

test('cluster add through the admin API gives a link to the configured install port, served once with the configured images', async () => {
  const admin = issueUserCertificate(pki.userCa, { user: 'admin', ttlMs: 600_000, now: new Date() });
  const added = await request(`https://127.0.0.1:${ports.api}/api/v1/clusters`, { ca: pki.servingCa.certPem, cert: admin.certPem, key: admin.keyPem }, { name: 'edge-a', labels: { env: 'prod' } });
  expect(added.status).toBe(201);
  const link = JSON.parse(added.text) as { url: string; expiresAt: string; images: unknown; caPem: string };
  expect(link.url.startsWith(`https://127.0.0.1:${ports.install}/install/`)).toBe(true);
  expect(link.images).toEqual(IMAGES);
  expect(link.caPem).toBe(pki.servingCa.certPem);
  expect(Date.parse(link.expiresAt) - Date.now()).toBeLessThanOrEqual(120_000);

  const served = await request(link.url, { ca: pki.servingCa.certPem });
  expect(served.status).toBe(200);
  expect(served.text).toContain(`image: ${IMAGES.agent}`);
  expect(served.text).toContain(`hub.test.invalid:${ports.agent}`);
  expect(served.text).toContain('- env=prod');
  expect((await request(link.url, { ca: pki.servingCa.certPem })).status).toBe(410);
  // The admin API's port still refuses a client without a certificate.
  await expect(request(`https://127.0.0.1:${ports.api}/api/v1/whoami`, { ca: pki.servingCa.certPem })).rejects.toThrow(/alert|socket hang up|ECONNRESET/);
  const log = fs.readFileSync(path.join(stateDir, 'controller.log'), 'utf8');
  expect(log).toContain('"msg":"install link served"');
  expect(log).not.toContain(link.url.split('.').pop());
});
