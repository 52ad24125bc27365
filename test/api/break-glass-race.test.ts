/**
 * Two approvers at the same moment, on two replicas: the approval that loses the race to
 * update the record must be retried against the fresh record, so both approvals count and the
 * request activates. The API's store here is the real SQLite store; just before the API writes
 * its first break-glass update, another writer (standing in for the other replica) records an
 * approval through the same real store.
 */
import type { BreakGlassRecord, Store } from '../../control-plane/store/store';
import type { SqliteStore } from '../../control-plane/store/sqlite-store';
import { ApiHarness } from './api-harness';

let h: ApiHarness;
let interleaved = 0;

/** The store with one concurrent approval by lead2 slipped in before the API's next update. */
function withConcurrentApproval(store: SqliteStore): Store {
  let armed = false;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'arm') return () => (armed = true);
      if (prop === 'updateBreakGlass') {
        return async (next: BreakGlassRecord) => {
          if (armed) {
            armed = false;
            const current = (await target.getBreakGlass(next.id))!;
            await target.updateBreakGlass({ ...current, approvals: [...current.approvals, { approver: 'lead2', at: Date.now() }] });
            interleaved++;
          }
          return target.updateBreakGlass(next);
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

let serverStore: Store & { arm?: () => void };

beforeAll(async () => {
  h = await ApiHarness.start({
    storeForServer: (store) => {
      serverStore = withConcurrentApproval(store);
      return serverStore;
    },
  });
  await h.addUser('olive', ['oncall']);
  await h.addUser('lead1', ['sre-leads']);
  await h.addUser('lead2', ['sre-leads']);
});
afterAll(() => h.close());

test('an approval that loses the race is retried, and both approvals activate the request', async () => {
  const created = await h.call('olive', 'POST', '/breakglass', { policy: 'oncall-beta-admin', cluster: 'beta', duration: '1h', justification: 'INC-9' });
  const id = created.body.request.id;
  (serverStore as { arm: () => void }).arm();

  const r = await h.call('lead1', 'POST', `/breakglass/${id}/approve`);
  expect(interleaved).toBe(1);
  expect(r.status).toBe(200);
  expect(r.body.request.state).toBe('active');
  expect(r.body.request.approvals.map((a: { approver: string }) => a.approver)).toEqual(['lead2', 'lead1']);
  const stored = await h.store.getBreakGlass(id);
  expect(stored).toMatchObject({ state: 'active', revision: 2 });
});

test('the retried check still applies: an approver whose approval landed meanwhile is told so (409)', async () => {
  const active = (await h.call('root', 'GET', '/breakglass?state=active')).body.requests;
  for (const b of active) await h.call('olive', 'POST', `/breakglass/${b.id}/cancel`);
  const created = await h.call('olive', 'POST', '/breakglass', { policy: 'oncall-beta-admin', cluster: 'beta', duration: '1h', justification: 'INC-11' });
  const id = created.body.request.id;
  (serverStore as { arm: () => void }).arm();
  // lead2's approval through the other replica lands first; this one then finds it counted.
  const r = await h.call('lead2', 'POST', `/breakglass/${id}/approve`);
  expect(interleaved).toBe(2);
  expect(r.status).toBe(409);
  expect(r.body.message).toBe(`you have already approved break-glass request "${id}"`);
  expect((await h.store.getBreakGlass(id))?.approvals.map((a) => a.approver)).toEqual(['lead2']);
});
