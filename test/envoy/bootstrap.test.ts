/**
 * The edge bootstrap, checked by the real Envoy (--mode validate parses and validates the
 * whole configuration, including certificate files, without starting a server).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AUTHZ_CLUSTER, CONTROL_PLANE_CLUSTER, edgeBootstrap, type XdsProtocol } from '../../control-plane/envoy/bootstrap';
import { loadOrCreatePki } from '../../control-plane/pki/kubegate-pki';
import { loadToolchain } from '../../dev/toolchain/tools';
import { runCommand } from '../support/run-command';

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-bootstrap-'));
afterAll(() => fs.rmSync(stateDir, { recursive: true, force: true }));

function bootstrapFor(tls = (() => {
  const pki = loadOrCreatePki({ stateDir, now: new Date() });
  pki.issueComponent('edge-xds-client', new Date());
  return pki.componentFiles('edge-xds-client');
})(), xdsProtocol?: XdsProtocol) {
  return edgeBootstrap({
    nodeId: 'edge-test',
    adminPort: 19000,
    controlPlane: { host: '127.0.0.1', port: 18000 },
    authz: { host: '127.0.0.1', port: 18001 },
    tls,
    ...(xdsProtocol ? { xdsProtocol } : {}),
  }) as any;
}

async function validate(bootstrap: object): Promise<{ code: number | null; out: string }> {
  const file = path.join(stateDir, `bootstrap-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(bootstrap));
  const r = await runCommand(loadToolchain().envoy, ['--mode', 'validate', '-c', file, '--disable-hot-restart', '-l', 'warning']);
  return { code: r.code, out: r.stdout + r.stderr };
}

test('Envoy accepts the bootstrap', async () => {
  const r = await validate(bootstrapFor());
  expect(r.out).toContain('configuration');
  expect(r.out).toContain('OK');
  expect(r.code).toBe(0);
});

test('the bootstrap holds only how to reach the control plane: listeners and clusters come over ADS', () => {
  const b = bootstrapFor();
  expect(b.node.id).toBe('edge-test');
  expect(b.static_resources.clusters.map((c: { name: string }) => c.name)).toEqual([CONTROL_PLANE_CLUSTER, AUTHZ_CLUSTER]);
  expect(b.static_resources.listeners).toBeUndefined();
  expect(b.dynamic_resources.lds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
  expect(b.dynamic_resources.cds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
  for (const c of b.static_resources.clusters) {
    const tls = c.transport_socket.typed_config.common_tls_context;
    expect(tls.tls_params.tls_minimum_protocol_version).toBe('TLSv1_2');
    expect(tls.tls_certificates).toHaveLength(1);
    expect(tls.validation_context.match_typed_subject_alt_names[0].matcher.exact).toBe('kubegate-control-plane');
  }
  expect(b.admin.address.socket_address.address).toBe('127.0.0.1');
});

test('the edge speaks delta ADS unless told to use state of the world; Envoy accepts both', async () => {
  expect(bootstrapFor().dynamic_resources.ads_config.api_type).toBe('DELTA_GRPC');
  const sotw = bootstrapFor(undefined, 'sotw');
  expect(sotw.dynamic_resources.ads_config.api_type).toBe('GRPC');
  const r = await validate(sotw);
  expect(r.code).toBe(0);
});

test('the edge runs internal listeners (users\' shards) and keeps refused handshakes\' TLS alerts', () => {
  const b = bootstrapFor();
  expect(b.bootstrap_extensions.map((e: { name: string }) => e.name)).toContain('envoy.bootstrap.internal_listener');
  expect(b.layered_runtime.layers[0].static_layer).toEqual({ 'envoy.reloadable_features.enable_send_rst_on_user_space_socket': false });
});

test('Envoy refuses a bootstrap whose certificate file is missing, naming it', async () => {
  const missing = path.join(stateDir, 'no-such-cert.crt');
  const r = await validate(bootstrapFor({ certFile: missing, keyFile: missing, caFile: missing }));
  expect(r.code).not.toBe(0);
  expect(r.out).toContain('no-such-cert.crt');
});

test("the controller named by DNS (its Service in a cluster) is resolved and re-resolved; Envoy accepts it", async () => {
  const tls = (() => {
    const pki = loadOrCreatePki({ stateDir, now: new Date() });
    pki.issueComponent('edge-xds-client', new Date());
    return pki.componentFiles('edge-xds-client');
  })();
  const bootstrap = edgeBootstrap({
    nodeId: 'edge-in-cluster',
    adminPort: 19000,
    controlPlane: { host: 'kubegate-controller.kubegate-system.svc', port: 18000 },
    authz: { host: 'kubegate-controller.kubegate-system.svc', port: 18001 },
    tls,
  }) as any;
  const clusters = bootstrap.static_resources.clusters as any[];
  for (const name of [CONTROL_PLANE_CLUSTER, AUTHZ_CLUSTER]) {
    expect(clusters.find((c) => c.name === name)).toMatchObject({ type: 'STRICT_DNS', dns_lookup_family: 'V4_PREFERRED' });
  }
  expect(bootstrapFor().static_resources.clusters.map((c: any) => c.type)).toEqual(['STATIC', 'STATIC']);
  const r = await validate(bootstrap);
  expect(r.code).toBe(0);
});
