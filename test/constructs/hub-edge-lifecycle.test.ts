/**
 * How an edge pod leaves (constructs/hub-edge-lifecycle.ts), run in the toolchain's real Envoy
 * from the bootstrap the hub construct writes: the preStop call keeps the replica serving while
 * the Service drops it, then drains (a kept-alive connection's next response says
 * `connection: close`, so the client moves to another replica), then waits for requests in
 * flight, and answers only after both waits. A listener that stands for the users' listener
 * (those arrive over xDS in a pod) is added to the bootstrap to watch the drain; the ports are
 * moved to free ones so the test runs beside anything else.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { loadToolchain } from '../../dev/toolchain/tools';
import { KubegateHub } from '../../constructs/kubegate-hub';
import { EDGE_DRAIN_WAIT_SECONDS, EDGE_LEAVE_DELAY_SECONDS, EDGE_LIFECYCLE_LISTENER, EDGE_LIFECYCLE_PORT, EDGE_PRESTOP_PATH } from '../../constructs/hub-edge-lifecycle';

jest.setTimeout(60_000);

const images = { controller: `registry.local/kubegate/controller@sha256:${'1'.repeat(64)}`, envoy: `registry.local/kubegate/envoy@sha256:${'2'.repeat(64)}` };

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Answer {
  readonly status: number;
  readonly connection?: string;
  readonly body: string;
  readonly at: number;
}

function get(port: number, pathname: string, agent: http.Agent | undefined, started: number, localAddress?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, ...(agent ? { agent } : {}), ...(localAddress ? { localAddress } : {}) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, at: Date.now() - started, ...(res.headers.connection ? { connection: String(res.headers.connection) } : {}) }));
    });
    req.on('error', reject);
  });
}

test('the preStop call: serving on, then a drain that closes kept-alive connections, then its answer once the waits are over', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-edge-lifecycle-'));
  const chart = Testing.chart();
  new KubegateHub(chart, 'hub', { images, edgeUrl: 'https://kubegate.example.com' });
  const objects = Testing.synth(chart) as Array<Record<string, any>>;
  const edge = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'kubegate-edge')!.spec.template.spec;
  // The pod calls the listener the bootstrap holds, on the port it binds.
  expect(edge.containers[0].lifecycle.preStop).toEqual({ httpGet: { path: EDGE_PRESTOP_PATH, port: EDGE_LIFECYCLE_PORT, scheme: 'HTTP' } });
  expect(edge.terminationGracePeriodSeconds).toBeGreaterThan(EDGE_LEAVE_DELAY_SECONDS + EDGE_DRAIN_WAIT_SECONDS);

  const bootstrap = JSON.parse(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kubegate-edge-bootstrap')!.data['bootstrap.json']);
  const [admin, lifecycle, user] = [await freePort(), await freePort(), await freePort()];
  bootstrap.admin.address.socket_address.port_value = admin;
  const listener = bootstrap.static_resources.listeners.find((l: { name: string }) => l.name === EDGE_LIFECYCLE_LISTENER);
  expect(listener.address.socket_address).toEqual({ address: '0.0.0.0', port_value: EDGE_LIFECYCLE_PORT });
  listener.address.socket_address = { address: '127.0.0.1', port_value: lifecycle };
  const endpoint = (c: { load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { port_value: number } } } }> }> } }) =>
    c.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address;
  // Only the lifecycle's own clusters: the controller's (xDS, ext_authz over mTLS) play no part.
  delete bootstrap.dynamic_resources;
  bootstrap.static_resources.clusters = bootstrap.static_resources.clusters.filter((c: { transport_socket?: unknown }) => !c.transport_socket);
  expect(bootstrap.static_resources.clusters).toHaveLength(2);
  for (const cluster of bootstrap.static_resources.clusters) {
    if (endpoint(cluster).port_value === EDGE_LIFECYCLE_PORT) endpoint(cluster).port_value = lifecycle;
    else if (endpoint(cluster).port_value === 9901) endpoint(cluster).port_value = admin;
    else throw new Error(`an unexpected cluster in the bootstrap: ${cluster.name}`);
  }
  bootstrap.static_resources.listeners.push({
    name: 'users',
    address: { socket_address: { address: '127.0.0.1', port_value: user } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'users',
              route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'ok' } } }] }] },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            },
          },
        ],
      },
    ],
  });
  fs.writeFileSync(path.join(dir, 'bootstrap.json'), JSON.stringify(bootstrap));
  const args = (edge.containers[0].args as string[]).map((a) => (a.startsWith('/etc/kubegate/edge/') ? path.join(dir, 'bootstrap.json') : a));
  let log = '';
  const envoy = spawn(loadToolchain().envoy, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => envoy.once('exit', resolve));
  envoy.stdout.on('data', (d: Buffer) => (log += d.toString()));
  envoy.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (const deadline = Date.now() + 20_000; ; ) {
      const up = await get(user, '/', undefined, Date.now()).then(() => true, () => false);
      if (up) break;
      if (Date.now() > deadline || envoy.exitCode !== null) throw new Error(`Envoy did not start:\n${log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The waits are the script's own: a call from any other address (here 127.0.0.2, as another
    // pod or the node would be) is refused at once.
    const foreignWait = await get(lifecycle, '/wait', undefined, Date.now(), '127.0.0.2');
    expect(foreignWait.status).toBe(403);
    expect(foreignWait.at).toBeLessThan(5_000);

    const started = Date.now();
    const before = await get(user, '/', agent, started);
    expect(before.connection).not.toBe('close');
    // The kubelet calls from the node's address.
    const prestop = get(lifecycle, EDGE_PRESTOP_PATH, undefined, started, '127.0.0.2');
    prestop.catch(() => undefined); // awaited below; a failure before then must not go unhandled

    // While the Service drops the pod, every request is served as before...
    const leaving = await get(user, '/', agent, started);
    expect({ status: leaving.status, connection: leaving.connection }).toEqual({ status: 200, connection: undefined });
    // ...until the drain: still served, and told to go elsewhere next time. Asked again and again
    // on the kept-alive connection, the first `close` comes no sooner than the leave delay.
    let draining: Answer | undefined;
    for (let answer = leaving; answer.connection !== 'close'; await new Promise((r) => setTimeout(r, 250))) {
      answer = await get(user, '/', agent, started);
      expect(answer.status).toBe(200);
      if (answer.connection === 'close') draining = answer;
    }
    expect(draining!.at).toBeGreaterThanOrEqual(EDGE_LEAVE_DELAY_SECONDS * 1000 - 100);

    const answered = await prestop;
    expect(answered).toMatchObject({ status: 200, body: 'drained: admin answered 200\n' });
    // After the drain it waited again (a new call to the lifecycle listener, which the drain left
    // listening: MODIFY_ONLY), and it answered within the pod's grace period.
    expect(answered.at).toBeGreaterThanOrEqual((EDGE_LEAVE_DELAY_SECONDS + EDGE_DRAIN_WAIT_SECONDS) * 1000 - 100);
    expect(answered.at).toBeLessThan(edge.terminationGracePeriodSeconds * 1000);
    const stats = await (await fetch(`http://127.0.0.1:${admin}/stats?filter=downstream_cx_drain_close`)).text();
    expect(stats).toMatch(/http\.users\.downstream_cx_drain_close: [1-9]/);
  } finally {
    agent.destroy();
    envoy.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
