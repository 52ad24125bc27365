/**
 * The edge pod starts Envoy with the construct's arguments and bootstrap. The real Envoy of the
 * toolchain is asked whether it would take them (`--mode validate`: everything is parsed and
 * built, nothing listens or connects), and then run against a stand-in controller to show that
 * it picks up a renewed client certificate when its Secret's files are swapped as the kubelet
 * swaps them, without a restart. The pod's file paths are moved to a scratch directory.
 */
import { execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
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
const validity = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) };
const ca = createCertificateAuthority({ commonName: 'test internal CA', ...validity });
const clientCertificate = () => issueCertificate(ca, { commonName: 'edge-xds-client', dnsNames: ['edge-xds-client'], usage: 'client', ...validity });
let dir: string;

/**
 * The Secret's volume as the kubelet lays it out: the files in a timestamped directory, `..data`
 * a link to it, each key a link through `..data`. An update writes a new directory and moves a
 * new `..data` link over the old one, so the keys change all at once.
 */
function writeSecretVolume(volume: string, generation: string, files: Record<string, string>): void {
  fs.mkdirSync(path.join(volume, `..${generation}`), { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(volume, `..${generation}`, name), text);
  fs.symlinkSync(`..${generation}`, path.join(volume, '..data_tmp'));
  fs.renameSync(path.join(volume, '..data_tmp'), path.join(volume, '..data'));
  for (const name of Object.keys(files)) if (!fs.existsSync(path.join(volume, name))) fs.symlinkSync(path.join('..data', name), path.join(volume, name));
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-hub-envoy-'));
  const client = clientCertificate();
  writeSecretVolume(path.join(dir, 'edge-xds-client'), 'first', { 'tls.crt': client.certPem, 'tls.key': client.keyPem, 'ca.crt': ca.certPem });
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
  const files = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kubegate-edge-bootstrap')!.data as Record<string, string>;
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'edge', name), text.replaceAll('/etc/kubegate/', `${dir}/`));
  const envoy = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'kubegate-edge')!.spec.template.spec.containers[0];
  const args = (envoy.args as string[]).map((a) => a.replace(/^\/etc\/kubegate\//, `${dir}/`));
  const validated = await run(loadToolchain().envoy, [...args, '--mode', 'validate'], { encoding: 'utf8' }).catch((err: { stdout: string; stderr: string }) => err);
  expect(`${validated.stdout}${validated.stderr}`).toMatch(/configuration '.*bootstrap\.json' OK/);
});

test('a renewed client certificate is presented on the next connection, without restarting Envoy', async () => {
  // A stand-in controller: TLS as the controller serves it, holding each ADS stream open.
  const serving = issueCertificate(ca, { commonName: 'kubegate-control-plane', dnsNames: ['kubegate-control-plane'], usage: 'server', ...validity });
  const presented: string[] = [];
  const open: http2.ServerHttp2Session[] = [];
  const server = http2.createSecureServer({ cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true });
  server.on('session', (session) => {
    open.push(session);
    presented.push(serial((session.socket as TLSSocket).getPeerCertificate().serialNumber));
  });
  server.on('stream', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const chart = Testing.chart();
  new KubegateHub(chart, 'hub', { images, edgeUrl: 'https://kubegate.example.com' });
  const objects = Testing.synth(chart) as Array<Record<string, any>>;
  const files = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kubegate-edge-bootstrap')!.data as Record<string, string>;
  const bootstrap = JSON.parse(files['bootstrap.json']!.replaceAll('/etc/kubegate/', `${dir}/`));
  bootstrap.admin.address.socket_address.port_value = 0;
  // The controller's clusters (TLS) go to the stand-in; the preStop listener (hub-edge-lifecycle.test.ts) binds any port.
  for (const cluster of bootstrap.static_resources.clusters.filter((c: { transport_socket?: unknown }) => c.transport_socket)) {
    cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address = { address: '127.0.0.1', port_value: port };
  }
  for (const listener of bootstrap.static_resources.listeners) listener.address.socket_address.port_value = 0;
  fs.writeFileSync(path.join(dir, 'edge', 'bootstrap.json'), JSON.stringify(bootstrap));
  fs.writeFileSync(path.join(dir, 'edge', 'xds-client-sds.json'), files['xds-client-sds.json']!.replaceAll('/etc/kubegate/', `${dir}/`));
  const args = (objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'kubegate-edge')!.spec.template.spec.containers[0].args as string[]).map((a) => a.replace(/^\/etc\/kubegate\//, `${dir}/`));
  let log = '';
  const envoy = spawn(loadToolchain().envoy, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  envoy.stdout.on('data', (d: Buffer) => (log += d.toString()));
  envoy.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const waitFor = async (what: string, ok: () => boolean) => {
    for (const deadline = Date.now() + 30_000; !ok(); ) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen; Envoy said:\n${log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    const first = serial(new X509Certificate(fs.readFileSync(path.join(dir, 'edge-xds-client', 'tls.crt'))).serialNumber);
    await waitFor('a first connection, with the first certificate', () => presented.includes(first));

    const renewed = clientCertificate();
    writeSecretVolume(path.join(dir, 'edge-xds-client'), 'second', { 'tls.crt': renewed.certPem, 'tls.key': renewed.keyPem, 'ca.crt': ca.certPem });
    // Envoy reloads when the new link moves in; then the controller drops the connection.
    await new Promise((r) => setTimeout(r, 1000));
    const before = presented.length;
    for (const session of open) session.destroy();
    await waitFor('a new connection', () => presented.length > before);
    expect(presented.slice(before)).toEqual(expect.arrayContaining([serial(new X509Certificate(renewed.certPem).serialNumber)]));
    expect(presented.slice(before)).not.toContain(first);
  } finally {
    envoy.kill('SIGTERM');
    await new Promise((r) => envoy.once('exit', r));
    for (const session of open) session.destroy();
    await new Promise((r) => server.close(() => r(undefined)));
  }
});

/** A serial number as Node.js gives it in either API, without leading zeros. */
function serial(hex: string): string {
  return hex.toUpperCase().replace(/^0+/, '');
}
