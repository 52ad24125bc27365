/**
 * When the database cannot be used, the API says so (503, a stable code, no driver detail)
 * instead of a 500 with internals; reads served from memory keep working.
 */
import { ApiHarness } from './api-harness';

let h: ApiHarness;

beforeAll(async () => {
  h = await ApiHarness.start();
  await h.cert('root');
  await h.store.close();
});
afterAll(() => h.close());

test('a mutation with the store closed is 503 ERR_UNAVAILABLE', async () => {
  const r = await h.call('root', 'POST', '/users', { name: 'zoe', groups: [] });
  expect(r.status).toBe(503);
  expect(r.body).toEqual({ code: 'ERR_UNAVAILABLE', message: 'the store is unavailable; try again shortly' });
});

test('a read of the store is 503 too', async () => {
  expect((await h.call('root', 'GET', '/users')).status).toBe(503);
});

test('what the control plane holds in memory still answers', async () => {
  const r = await h.call('root', 'GET', '/whoami');
  expect(r.status).toBe(200);
  expect(r.body.user).toBe('root');
  const clusters = (await h.call('root', 'GET', '/clusters')).body.clusters as { connection: string }[];
  expect(clusters).toHaveLength(3);
  // Which of them have agents is in the store: said to be unknown, not guessed.
  expect(clusters.map((c) => c.connection)).toEqual(['unknown', 'unknown', 'unknown']);
});
