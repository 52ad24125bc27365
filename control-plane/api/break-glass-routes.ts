/**
 * Break-glass requests: a subject of a BreakGlassPolicy asks for its grant on one cluster for a
 * while, with a justification if the policy wants one; distinct approvers other than the
 * requester approve it, and it becomes active when enough have. Records change under
 * optimistic concurrency (a revision per record), so two approvers approving at the same moment
 * both count and neither overwrites the other; a lost race is retried against the fresh record.
 *
 * Pending requests do not wait forever: one older than PENDING_REQUEST_TTL_MS is expired the
 * next time anyone lists or acts on it (the store has no clock, so expiry is lazy).
 */
import { StoreConflictError, type BreakGlassRecord } from '../store/store';
import { DurationError, parseDurationMs } from '../config/duration';
import type { Subject } from '../policy-engine/engine-contract';
import type { ApiDeps } from './api-deps';
import type { ApiInstance } from './api-request';
import type { Caller } from './caller-identity';
import { NO_FIELDS, NON_BLANK_STRING, OPTIONAL_STRING, SEGMENT, bodyWith, pathParams, queryWith } from './api-schemas';
import { badRequest, conflict, forbidden, notFound } from './api-errors';
import { breakGlassView, type BreakGlassView } from './api-views';
import { putInForce } from './in-force';
import { formatDuration } from './format-duration';

/** How long a request may wait for approval. */
export const PENDING_REQUEST_TTL_MS = 24 * 3_600_000;
/** Attempts at an update that keeps losing to concurrent ones before giving up with 409. */
const MAX_ATTEMPTS = 5;

const subjectOf = (caller: Caller): Subject => ({ user: caller.user, groups: caller.groups });

/** The record's state as of `now`, or null when it needs no change. */
function dueExpiry(rec: BreakGlassRecord, now: number): BreakGlassRecord | null {
  if (rec.state === 'pending' && now - rec.requestedAt >= PENDING_REQUEST_TTL_MS) {
    return { ...rec, state: 'expired', endReason: `not approved within ${formatDuration(PENDING_REQUEST_TTL_MS)}` };
  }
  if (rec.state === 'active' && rec.expiresAt !== undefined && rec.expiresAt <= now) return { ...rec, state: 'expired' };
  return null;
}

/** Stores what expired by now; returns the current record. */
async function expireIfDue(deps: ApiDeps, rec: BreakGlassRecord, now: number): Promise<BreakGlassRecord> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const next = dueExpiry(rec, now);
    if (!next) return rec;
    try {
      return await deps.store.updateBreakGlass(next);
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
      const fresh = await deps.store.getBreakGlass(rec.id);
      if (!fresh) throw notFound(`break-glass request "${rec.id}" does not exist`);
      rec = fresh;
    }
  }
  return rec;
}

/**
 * Reads the record, lets `change` decide the next version (it may refuse by throwing), and
 * stores it; on a concurrent update it starts again from the fresh record.
 */
async function updateRecord(deps: ApiDeps, id: string, change: (rec: BreakGlassRecord, now: number) => BreakGlassRecord): Promise<BreakGlassRecord> {
  for (let attempt = 1; ; attempt++) {
    const now = deps.clock();
    const stored = await deps.store.getBreakGlass(id);
    if (!stored) throw notFound(`break-glass request "${id}" does not exist`);
    const rec = await expireIfDue(deps, stored, now);
    const next = change(rec, now);
    try {
      return await deps.store.updateBreakGlass(next);
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
      if (attempt >= MAX_ATTEMPTS) throw conflict(`break-glass request "${id}" keeps changing concurrently; try again`);
    }
  }
}

/** How many approvals the policy asks of the request now; undefined when it cannot say. */
function approvalsRequired(deps: ApiDeps, rec: BreakGlassRecord, now: number): number | undefined {
  const access = deps.access();
  const requester = access.user(rec.user);
  const cluster = access.cluster(rec.cluster);
  if (!requester || !cluster) return undefined;
  const e = access.engine.breakGlassEligibility({ user: requester.name, groups: requester.groups }, rec.policy, cluster, access.evaluationContext(requester.name, now));
  return e.eligible ? e.minApprovals : undefined;
}

function view(deps: ApiDeps, rec: BreakGlassRecord, now: number): BreakGlassView {
  return breakGlassView(rec, rec.state === 'pending' ? approvalsRequired(deps, rec, now) : undefined);
}

function requirePending(rec: BreakGlassRecord): void {
  if (rec.state !== 'pending') throw conflict(`break-glass request "${rec.id}" is ${rec.state}, not pending`);
}

const STATES = ['pending', 'active', 'expired', 'rejected', 'cancelled'] as const;
const REQUEST = pathParams({ id: SEGMENT });
type RequestParams = { id: string };

export function breakGlassRoutes(app: ApiInstance, deps: ApiDeps): void {
  // Other query parameters are ignored, as they always were.
  app.get<{ Querystring: { state?: (typeof STATES)[number] } }>(
    '/breakglass',
    { schema: { querystring: queryWith({ state: { type: 'string', enum: STATES } }, false) } },
    async (req) => {
      const state = req.query.state;
      const now = deps.clock();
      const engine = deps.access().engine;
      const me = subjectOf(req.caller);
      const visible = (await deps.store.listBreakGlass()).filter(
        (r) => req.caller.admin || r.user === req.caller.user || engine.canApprove(me, r.policy, r.user),
      );
      const current: BreakGlassRecord[] = [];
      for (const r of visible) current.push(await expireIfDue(deps, r, now));
      const shown = current.filter((r) => state === undefined || r.state === state);
      return { requests: shown.map((r) => view(deps, r, now)) };
    },
  );

  app.post<{ Body: { policy: string; cluster: string; duration: string; justification?: string | null } }>(
    '/breakglass',
    {
      schema: {
        body: bodyWith({ policy: NON_BLANK_STRING, cluster: NON_BLANK_STRING, duration: NON_BLANK_STRING, justification: OPTIONAL_STRING }, ['policy', 'cluster', 'duration']),
      },
    },
    async (req, reply) => {
      const { policy, cluster: clusterName, duration: durationText } = req.body;
      const justification = (req.body.justification ?? '').trim();
      const access = deps.access();
      const cluster = access.cluster(clusterName);
      if (!cluster) throw badRequest('cluster', `cluster "${clusterName}" is not registered`);
      let durationMs: number;
      try {
        durationMs = parseDurationMs(durationText);
      } catch (err) {
        if (err instanceof DurationError) throw badRequest('duration', err.message);
        throw err;
      }
      const now = deps.clock();
      const me = subjectOf(req.caller);
      const eligibility = access.engine.breakGlassEligibility(me, policy, cluster, access.evaluationContext(me.user, now));
      if (!eligibility.eligible) throw forbidden(`you may not request break-glass: ${eligibility.message}`);
      if (durationMs > eligibility.maxDurationMs) {
        throw badRequest('duration', `duration ${durationText} is longer than the maxDuration of BreakGlassPolicy "${policy}" (${formatDuration(eligibility.maxDurationMs)})`);
      }
      if (eligibility.justificationRequired && justification === '') {
        throw badRequest('justification', `BreakGlassPolicy "${policy}" requires a justification: say why you need this access`);
      }
      const open = await deps.store.listBreakGlass({ user: me.user, states: ['pending', 'active'] });
      for (const r of open) {
        if (r.policy !== policy || r.cluster !== cluster.name) continue;
        const current = await expireIfDue(deps, r, now);
        if (current.state === 'pending' || current.state === 'active') {
          throw conflict(`you already have ${current.state === 'active' ? 'an' : 'a'} ${current.state} break-glass request "${current.id}" under "${policy}" on cluster "${cluster.name}"`);
        }
      }
      const immediate = eligibility.minApprovals === 0;
      const created = await deps.store.createBreakGlass({
        id: deps.newId(),
        policy,
        user: me.user,
        cluster: cluster.name,
        justification,
        durationMs,
        requestedAt: now,
        approvals: [],
        state: immediate ? 'active' : 'pending',
        ...(immediate ? { activatedAt: now, expiresAt: now + durationMs } : {}),
      });
      deps.logger.info('break-glass requested', { id: created.id, policy, user: me.user, cluster: cluster.name, state: created.state, durationMs });
      await putInForce(deps, `break-glass request "${created.id}"`);
      return reply.code(201).send({ request: view(deps, created, now) });
    },
  );

  app.post<{ Params: RequestParams }>('/breakglass/:id/approve', { schema: { params: REQUEST, body: NO_FIELDS } }, async (req) => {
    const me = subjectOf(req.caller);
    const updated = await updateRecord(deps, req.params.id, (rec, now) => {
      const access = deps.access();
      if (rec.user === me.user) throw forbidden('you cannot approve your own break-glass request');
      if (!access.engine.canApprove(me, rec.policy, rec.user)) {
        throw forbidden(`user "${me.user}" is not an approver of BreakGlassPolicy "${rec.policy}"`);
      }
      requirePending(rec);
      if (rec.approvals.some((a) => a.approver === me.user)) throw conflict(`you have already approved break-glass request "${rec.id}"`);
      const requester = access.user(rec.user);
      const cluster = access.cluster(rec.cluster);
      if (!requester || requester.disabled) throw conflict(`the requester "${rec.user}" no longer exists or is disabled`);
      if (!cluster) throw conflict(`cluster "${rec.cluster}" is no longer registered`);
      const e = access.engine.breakGlassEligibility({ user: requester.name, groups: requester.groups }, rec.policy, cluster, access.evaluationContext(requester.name, now));
      if (!e.eligible) throw conflict(`the requester is no longer eligible: ${e.message}`);
      const approvals = [...rec.approvals, { approver: me.user, at: now }];
      if (approvals.length < e.minApprovals) return { ...rec, approvals };
      return { ...rec, approvals, state: 'active', activatedAt: now, expiresAt: now + rec.durationMs };
    });
    deps.logger.info('break-glass approved', { id: updated.id, by: me.user, state: updated.state, approvals: updated.approvals.length });
    await putInForce(deps, `the approval of break-glass request "${updated.id}"`);
    return { request: view(deps, updated, deps.clock()) };
  });

  app.post<{ Params: RequestParams; Body: { reason: string } }>(
    '/breakglass/:id/reject',
    { schema: { params: REQUEST, body: bodyWith({ reason: NON_BLANK_STRING }, ['reason']) } },
    async (req) => {
      const reason = req.body.reason;
      const me = subjectOf(req.caller);
      const updated = await updateRecord(deps, req.params.id, (rec) => {
        if (!req.caller.admin && !deps.access().engine.canApprove(me, rec.policy, rec.user)) {
          throw forbidden(
            rec.user === me.user
              ? 'you cannot reject your own break-glass request; cancel it instead'
              : `only approvers of BreakGlassPolicy "${rec.policy}" and administrators may reject this request`,
          );
        }
        requirePending(rec);
        return { ...rec, state: 'rejected', endedBy: me.user, endReason: reason };
      });
      deps.logger.info('break-glass rejected', { id: updated.id, by: me.user });
      await putInForce(deps, `rejecting break-glass request "${updated.id}"`);
      return { request: view(deps, updated, deps.clock()) };
    },
  );

  app.post<{ Params: RequestParams; Body: { reason?: string | null } }>(
    '/breakglass/:id/cancel',
    { schema: { params: REQUEST, body: bodyWith({ reason: OPTIONAL_STRING }) } },
    async (req) => {
      const reason = req.body.reason ?? undefined;
      const me = req.caller.user;
      const updated = await updateRecord(deps, req.params.id, (rec) => {
        if (rec.user !== me && !req.caller.admin) throw forbidden('only the requester and administrators may cancel a break-glass request');
        if (rec.state !== 'pending' && rec.state !== 'active') throw conflict(`break-glass request "${rec.id}" is ${rec.state}; only pending and active requests can be cancelled`);
        return { ...rec, state: 'cancelled', endedBy: me, ...(reason !== undefined ? { endReason: reason } : {}) };
      });
      deps.logger.info('break-glass cancelled', { id: updated.id, by: me });
      await putInForce(deps, `cancelling break-glass request "${updated.id}"`);
      return { request: view(deps, updated, deps.clock()) };
    },
  );
}
