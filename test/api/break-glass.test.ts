/**
 * Break-glass through the admin API: who may request what, for how long and with what
 * justification; distinct approvers other than the requester; activation on the last
 * approval; reject and cancel; who sees which requests; concurrent approvals; lazy expiry.
 */
import { ApiHarness, CLUSTERS } from './api-harness';

let h: ApiHarness;

beforeAll(async () => {
  h = await ApiHarness.start();
  await h.addUser('olive', ['oncall']);
  await h.addUser('otto', ['oncall']);
  await h.addUser('lead1', ['sre-leads']);
  await h.addUser('lead2', ['sre-leads']);
  await h.addUser('lead3', ['sre-leads', 'oncall']);
  await h.addUser('dana', ['dev']);
});
afterAll(() => h.close());

const beta = CLUSTERS.find((c) => c.name === 'beta')!;
const alpha = CLUSTERS.find((c) => c.name === 'alpha')!;
const accessOf = (user: string, cluster = beta) =>
  h.access.engine.clusterAccess({ user, groups: h.access.user(user)!.groups }, cluster, h.access.evaluationContext(user, h.now())).mode;

const request = (user: string, body: Record<string, unknown>) => h.call(user, 'POST', '/breakglass', body);
const adminOnBeta = { policy: 'oncall-beta-admin', cluster: 'beta', duration: '1h', justification: 'INC-1: api down' };

describe('requesting', () => {
  test('someone who is not a subject of the policy is refused (403) with the reason', async () => {
    const r = await request('dana', adminOnBeta);
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ code: 'ERR_FORBIDDEN', message: 'you may not request break-glass: user "dana" is not among the subjects of BreakGlassPolicy "oncall-beta-admin"' });
  });

  test('an unknown policy, or one that does not cover the cluster, is refused (403)', async () => {
    const unknown = await request('olive', { ...adminOnBeta, policy: 'nope' });
    expect(unknown.status).toBe(403);
    expect(unknown.body.message).toBe('you may not request break-glass: there is no BreakGlassPolicy "nope"');
    const elsewhere = await request('olive', { ...adminOnBeta, cluster: 'alpha' });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.message).toBe('you may not request break-glass: BreakGlassPolicy "oncall-beta-admin" does not cover cluster "alpha"');
  });

  test.each([
    [{ ...adminOnBeta, cluster: 'delta' }, 'cluster', 'cluster "delta" is not registered'],
    [{ ...adminOnBeta, duration: '3h' }, 'duration', 'duration 3h is longer than the maxDuration of BreakGlassPolicy "oncall-beta-admin" (2h)'],
    [{ ...adminOnBeta, duration: 'soon' }, 'duration', '"soon" is not a duration: use a number with a unit, e.g. 30s, 15m, 8h, 1h30m or 2d'],
    [{ ...adminOnBeta, justification: '   ' }, 'justification', 'BreakGlassPolicy "oncall-beta-admin" requires a justification: say why you need this access'],
    [{ policy: 'oncall-beta-admin', cluster: 'beta', duration: '1h' }, 'justification', 'BreakGlassPolicy "oncall-beta-admin" requires a justification: say why you need this access'],
    [{ cluster: 'beta', duration: '1h' }, 'policy', 'policy is required'],
    [{ ...adminOnBeta, reason: 'x' }, 'reason', 'unknown field "reason"; fields here: policy, cluster, duration, justification'],
  ])('%j is 400 naming %s, and nothing is created', async (body, field, message) => {
    const r = await request('olive', body);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 'ERR_BAD_REQUEST', field, message });
    expect(await h.store.listBreakGlass({ user: 'olive' })).toEqual([]);
  });

  test('a policy without approval is active at once for the duration, and in force', async () => {
    expect(accessOf('otto', alpha)).toBe('none');
    const before = h.now();
    const r = await request('otto', { policy: 'oncall-alpha-restart', cluster: 'alpha', duration: '20m' });
    expect(r.status).toBe(201);
    const b = r.body.request;
    expect(b).toMatchObject({ policy: 'oncall-alpha-restart', user: 'otto', cluster: 'alpha', state: 'active', justification: '', durationMs: 20 * 60_000, approvals: [] });
    expect(Date.parse(b.expiresAt) - Date.parse(b.activatedAt)).toBe(20 * 60_000);
    expect(Date.parse(b.activatedAt)).toBeGreaterThanOrEqual(before - 1);
    expect(accessOf('otto', alpha)).toBe('kubectl');

    const duplicate = await request('otto', { policy: 'oncall-alpha-restart', cluster: 'alpha', duration: '10m' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.message).toBe(`you already have an active break-glass request "${b.id}" under "oncall-alpha-restart" on cluster "alpha"`);
  });
});

describe('approving', () => {
  let id: string;

  test('a request that needs approval is pending, with the approvals it needs', async () => {
    const r = await request('olive', adminOnBeta);
    expect(r.status).toBe(201);
    expect(r.body.request).toMatchObject({ state: 'pending', approvals: [], approvalsRequired: 2, justification: 'INC-1: api down' });
    expect(r.body.request.expiresAt).toBeUndefined();
    id = r.body.request.id;
    expect(accessOf('olive')).toBe('none');
  });

  test('the requester cannot approve their own request', async () => {
    const r = await h.call('olive', 'POST', `/breakglass/${id}/approve`);
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ code: 'ERR_FORBIDDEN', message: 'you cannot approve your own break-glass request' });
  });

  test('someone who is not an approver cannot approve', async () => {
    for (const user of ['dana', 'otto', 'root']) {
      const r = await h.call(user, 'POST', `/breakglass/${id}/approve`);
      expect(r.status).toBe(403);
      expect(r.body.message).toBe(`user "${user}" is not an approver of BreakGlassPolicy "oncall-beta-admin"`);
    }
  });

  test('one approval of two keeps it pending; the same approver twice does not count twice', async () => {
    const r = await h.call('lead1', 'POST', `/breakglass/${id}/approve`);
    expect(r.status).toBe(200);
    expect(r.body.request).toMatchObject({ state: 'pending', approvals: [{ approver: 'lead1', at: expect.any(String) }] });
    const again = await h.call('lead1', 'POST', `/breakglass/${id}/approve`);
    expect(again.status).toBe(409);
    expect(again.body.message).toBe(`you have already approved break-glass request "${id}"`);
    expect(accessOf('olive')).toBe('none');
  });

  test('the second distinct approval activates it, in force at once', async () => {
    const r = await h.call('lead2', 'POST', `/breakglass/${id}/approve`);
    expect(r.status).toBe(200);
    const b = r.body.request;
    expect(b.state).toBe('active');
    expect(b.approvals.map((a: { approver: string }) => a.approver)).toEqual(['lead1', 'lead2']);
    expect(Date.parse(b.expiresAt) - Date.parse(b.activatedAt)).toBe(3_600_000);
    expect(accessOf('olive')).toBe('kubectl');
    const late = await h.call('lead3', 'POST', `/breakglass/${id}/approve`);
    expect(late.status).toBe(409);
    expect(late.body.message).toBe(`break-glass request "${id}" is active, not pending`);
  });

  test('cancelling ends the grant: only the requester or an administrator may', async () => {
    const other = await h.call('lead1', 'POST', `/breakglass/${id}/cancel`);
    expect(other.status).toBe(403);
    expect(other.body.message).toBe('only the requester and administrators may cancel a break-glass request');
    const r = await h.call('olive', 'POST', `/breakglass/${id}/cancel`, { reason: 'incident over' });
    expect(r.status).toBe(200);
    expect(r.body.request).toMatchObject({ state: 'cancelled', endedBy: 'olive', endReason: 'incident over' });
    expect(accessOf('olive')).toBe('none');
    const twice = await h.call('olive', 'POST', `/breakglass/${id}/cancel`);
    expect(twice.status).toBe(409);
  });

  test('two approvals at the same moment both count (optimistic concurrency with retry)', async () => {
    const created = await request('olive', adminOnBeta);
    const rid = created.body.request.id;
    const [a, b] = await Promise.all([h.call('lead1', 'POST', `/breakglass/${rid}/approve`), h.call('lead2', 'POST', `/breakglass/${rid}/approve`)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const stored = await h.store.getBreakGlass(rid);
    expect(stored?.state).toBe('active');
    expect(stored?.approvals.map((x) => x.approver).sort()).toEqual(['lead1', 'lead2']);
    // An administrator may cancel anyone's grant.
    const cancelled = await h.call('root', 'POST', `/breakglass/${rid}/cancel`);
    expect(cancelled.body.request).toMatchObject({ state: 'cancelled', endedBy: 'root' });
  });

  test('an unknown request is 404', async () => {
    const r = await h.call('lead1', 'POST', '/breakglass/no-such-id/approve');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ code: 'ERR_NOT_FOUND', message: 'break-glass request "no-such-id" does not exist' });
  });
});

describe('rejecting', () => {
  test('an approver rejects with a reason; the requester, others and a missing reason are refused', async () => {
    const created = await request('olive', adminOnBeta);
    const rid = created.body.request.id;
    const own = await h.call('olive', 'POST', `/breakglass/${rid}/reject`, { reason: 'never mind' });
    expect(own.status).toBe(403);
    expect(own.body.message).toBe('you cannot reject your own break-glass request; cancel it instead');
    expect((await h.call('dana', 'POST', `/breakglass/${rid}/reject`, { reason: 'no' })).status).toBe(403);
    const noReason = await h.call('lead1', 'POST', `/breakglass/${rid}/reject`);
    expect(noReason.body).toEqual({ code: 'ERR_BAD_REQUEST', field: 'reason', message: 'reason is required' });

    const r = await h.call('lead1', 'POST', `/breakglass/${rid}/reject`, { reason: 'use the runbook first' });
    expect(r.status).toBe(200);
    expect(r.body.request).toMatchObject({ state: 'rejected', endedBy: 'lead1', endReason: 'use the runbook first' });
    const approve = await h.call('lead2', 'POST', `/breakglass/${rid}/approve`);
    expect(approve.status).toBe(409);
    expect(approve.body.message).toBe(`break-glass request "${rid}" is rejected, not pending`);
    expect(accessOf('olive')).toBe('none');
  });
});

describe('listing', () => {
  test('requesters see their own, approvers those they may approve, administrators all', async () => {
    const ids = (r: { body: { requests: { id: string; user: string }[] } }) => r.body.requests.map((b) => b.user);
    const all = await h.call('root', 'GET', '/breakglass');
    expect(all.status).toBe(200);
    expect(new Set(ids(all))).toEqual(new Set(['olive', 'otto']));
    expect(new Set(ids(await h.call('olive', 'GET', '/breakglass')))).toEqual(new Set(['olive']));
    expect(new Set(ids(await h.call('otto', 'GET', '/breakglass')))).toEqual(new Set(['otto']));
    // lead1 approves oncall-beta-admin (olive's requests); otto's policy needs no approvers.
    expect(new Set(ids(await h.call('lead1', 'GET', '/breakglass')))).toEqual(new Set(['olive']));
    expect((await h.call('dana', 'GET', '/breakglass')).body.requests).toEqual([]);
  });

  test('newest first, filtered by state; an unknown state is 400', async () => {
    const all = (await h.call('root', 'GET', '/breakglass')).body.requests;
    const times = all.map((b: { requestedAt: string }) => Date.parse(b.requestedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const rejected = await h.call('root', 'GET', '/breakglass?state=rejected');
    expect(rejected.body.requests.map((b: { state: string }) => b.state)).toEqual(['rejected']);
    const bad = await h.call('root', 'GET', '/breakglass?state=open');
    expect(bad.body).toEqual({ code: 'ERR_BAD_REQUEST', field: 'state', message: 'state must be one of pending, active, expired, rejected, cancelled' });
  });
});

describe('expiry', () => {
  test('a pending request older than a day expires when next seen, and can no longer be approved', async () => {
    const created = await request('olive', adminOnBeta);
    const rid = created.body.request.id;
    h.advance(25 * 3_600_000);
    await h.refresh();
    const listed = await h.call('olive', 'GET', '/breakglass?state=expired');
    const mine = listed.body.requests.find((b: { id: string }) => b.id === rid);
    expect(mine).toMatchObject({ state: 'expired', endReason: 'not approved within 24h' });
    // otto's 20-minute grant from earlier has run out too, and is shown (and stored) as expired.
    const ottos = (await h.call('otto', 'GET', '/breakglass')).body.requests;
    expect(ottos.map((b: { state: string }) => b.state)).toEqual(['expired']);
    expect((await h.store.getBreakGlass(rid))?.state).toBe('expired');
    const approve = await h.call('lead1', 'POST', `/breakglass/${rid}/approve`);
    expect(approve.status).toBe(409);
    expect(approve.body.message).toBe(`break-glass request "${rid}" is expired, not pending`);
    // And a new request is possible again.
    expect((await request('olive', adminOnBeta)).status).toBe(201);
  });
});
