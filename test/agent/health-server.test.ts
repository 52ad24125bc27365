/**
 * The agent's health endpoints as the kubelet uses them: /readyz says why not, /drained holds
 * the in-cluster Envoy's preStop hook until the agent's drain is over (bounded), and nothing
 * else is served or changes state.
 */
import * as http from 'node:http';
import { startHealthServer, type HealthServer } from '../../agent/runtime/health-server';
import { createAgentLogger } from '../../agent/log/agent-logger';

let server: HealthServer;
let reason: string | undefined;
let releaseDrain: () => void;
let drainedAsked: number[];

beforeEach(async () => {
  reason = 'no session with the control plane';
  drainedAsked = [];
  const drainOver = new Promise<void>((resolve) => (releaseDrain = resolve));
  server = await startHealthServer({
    host: '127.0.0.1',
    port: 0,
    notReadyBecause: async () => reason,
    drained: (maxMs) => {
      drainedAsked.push(maxMs);
      return drainOver;
    },
    drainedMaxMs: 25_000,
    logger: createAgentLogger('health-test', { sink: () => undefined }),
  });
});

afterEach(() => server.close());

function get(path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path, method }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/readyz answers 503 with the reason until the agent can serve, then 200; /healthz always 200', async () => {
  expect(await get('/readyz')).toEqual({ status: 503, body: 'no session with the control plane\n' });
  reason = undefined;
  expect(await get('/readyz')).toEqual({ status: 200, body: 'ok\n' });
  expect((await get('/healthz')).status).toBe(200);
});

test('/drained answers only once the drain is over, and asks for it bounded by the drain limit', async () => {
  let answered = false;
  const pending = get('/drained').then((r) => {
    answered = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 200));
  expect(answered).toBe(false);
  expect(drainedAsked).toEqual([25_000]);
  releaseDrain();
  expect(await pending).toEqual({ status: 200, body: 'drained\n' });
});

test('anything else is refused: other paths 404, other methods 405', async () => {
  expect((await get('/drain')).status).toBe(404);
  expect((await get('/readyz', 'POST')).status).toBe(405);
  expect(drainedAsked).toEqual([]);
});
