/**
 * The edge pod starts Envoy with the construct's arguments and bootstrap; this asks the real
 * Envoy of the toolchain whether it would take them (`--mode validate`: everything is parsed and
 * built, nothing listens or connects), with the pod's file paths moved to a scratch directory
 * holding certificates like those the controller writes to the edge's Secret.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Testing } from 'cdk8s';
import { loadToolchain } from '../../dev/toolchain/tools';
import { createCertificateAuthority, issueCertificate } from '../../control-plane/pki/certificates';
import { KubegateHub, type KubegateHubProps } from '../../constructs/kubegate-hub';

jest.setTimeout(60_000);

const run = promisify(execFile);
const images = { controller: `registry.local/kubegate/controller@sha256:${'1'.repeat(64)}`, envoy: `registry.local/kubegate/envoy@sha256:${'2'.repeat(64)}` };
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-hub-envoy-'));
  const validity = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) };
  const ca = createCertificateAuthority({ commonName: 'test internal CA', ...validity });
  const client = issueCertificate(ca, { commonName: 'edge-xds-client', dnsNames: ['edge-xds-client'], usage: 'client', ...validity });
  fs.mkdirSync(path.join(dir, 'edge-xds-client'));
  fs.writeFileSync(path.join(dir, 'edge-xds-client', 'tls.crt'), client.certPem);
  fs.writeFileSync(path.join(dir, 'edge-xds-client', 'tls.key'), client.keyPem);
  fs.writeFileSync(path.join(dir, 'edge-xds-client', 'ca.crt'), ca.certPem);
  fs.mkdirSync(path.join(dir, 'edge'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test.each<[string, Partial<KubegateHubProps>]>([
  ['the default hub', {}],
  ['a hub with its own ports, shards and CPUs', { ports: { xds: 19000, authz: 19001 }, edge: { userShards: 4, cpuLimit: '500m', adminPort: 9911 }, clusterDomain: 'corp.internal' }],
])('Envoy takes the edge pod of %s', async (_what, props) => {
  const chart = Testing.chart();
  new KubegateHub(chart, 'hub', { images, edgeUrl: 'https://kubegate.example.com', ...props });
  const objects = Testing.synth(chart) as Array<Record<string, any>>;
  const bootstrap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kubegate-edge-bootstrap')!.data['bootstrap.json'] as string;
  fs.writeFileSync(path.join(dir, 'edge', 'bootstrap.json'), bootstrap.replaceAll('/etc/kubegate/', `${dir}/`));
  const envoy = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'kubegate-edge')!.spec.template.spec.containers[0];
  const args = (envoy.args as string[]).map((a) => a.replace(/^\/etc\/kubegate\//, `${dir}/`));
  const validated = await run(loadToolchain().envoy, [...args, '--mode', 'validate'], { encoding: 'utf8' }).catch((err: { stdout: string; stderr: string }) => err);
  expect(`${validated.stdout}${validated.stderr}`).toMatch(/configuration '.*bootstrap\.json' OK/);
});
