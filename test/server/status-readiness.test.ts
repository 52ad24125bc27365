/**
 * /readyz tells the kubelet whether a controller replica can decide requests yet: 503 with
 * the reason until its first configuration is published, 200 after; /healthz stays 200.
 */
import { startStatusServer } from '../../control-plane/server/status-http';

test('readiness follows the source; liveness does not', async () => {
  let reason: string | undefined = 'no configuration published yet';
  const server = await startStatusServer({ status: () => ({}), metricsText: async () => '', notReadyReason: () => reason });
  try {
    const get = async (p: string) => {
      const r = await fetch(`http://127.0.0.1:${server.port}${p}`);
      return { status: r.status, body: await r.text() };
    };
    expect(await get('/readyz')).toEqual({ status: 503, body: 'not ready: no configuration published yet\n' });
    expect((await get('/healthz')).status).toBe(200);
    reason = undefined;
    expect(await get('/readyz')).toEqual({ status: 200, body: 'ready\n' });
  } finally {
    await server.stop();
  }
});

test('a source without a readiness check is ready, and the address it listens on is chosen', async () => {
  const server = await startStatusServer({ status: () => ({}), metricsText: async () => '' }, 0, '127.0.0.1');
  try {
    expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(200);
  } finally {
    await server.stop();
  }
});
