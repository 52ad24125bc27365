/**
 * Retention for the audit log, shared by both implementations: decides how far from the start
 * of the chain to remove, then removes in chunks, each its own short transaction (the store's
 * RetentionTarget), so appends wait at most one chunk however much is removed.
 *
 * How far: by age, by count and by size (records' sizes as the store recorded them at append),
 * whichever reaches furthest, decided once against the head as it is when retention starts.
 *
 * Retention never removes from the middle or the end: only a run from the start, after which
 * the chain anchor is the last removed record and the rest verifies from it. Each chunk is
 * verified before it is removed; if it does not verify, retention removes only what comes
 * before the problem and stops, so it never erases the evidence of tampering.
 */
import type { StoredAuditEvent } from './audit-event';
import { verifyChain, type ChainPoint, type ChainProblem } from './audit-hash-chain';
import type { RetentionPolicy, RetentionResult } from './audit-log';
import type { ChainState } from './stored-chain-verifier';
import { StoreInputError, requireCount, requireTime } from '../store/store-input';

export interface RetentionTarget {
  chainState(): Promise<ChainState>;
  /** The lowest seq above `afterSeq` whose event time is at or after `timeIso`, if any. */
  firstSeqAtOrAfter(afterSeq: number, timeIso: string): Promise<number | undefined>;
  /**
   * Adding up the records' sizes from `throughSeq` down towards `afterSeq` (exclusive): the
   * first seq at which the sum exceeds `maxBytes`, i.e. the newest record that does not fit,
   * or undefined when all of them do. Removing through it leaves at most `maxBytes`.
   */
  newestSeqOverBytes(afterSeq: number, throughSeq: number, maxBytes: number): Promise<number | undefined>;
  /** The sum of the sizes of the records after `afterSeq`. */
  bytesAfter(afterSeq: number): Promise<number>;
  /**
   * In one transaction, holding the chain: verifies the records after the anchor up to
   * `toSeq`, removes those before the first problem (all, if none), and moves the anchor to
   * the last one removed.
   */
  removeThrough(toSeq: number): Promise<{ readonly removed: number; readonly anchor: ChainPoint; readonly problem?: ChainProblem }>;
}

/** Records removed per transaction: small, since SQLite appends wait for each (a few ms). */
export const RETENTION_CHUNK = 1000;

export async function applyAuditRetention(target: RetentionTarget, policy: RetentionPolicy, chunk = RETENTION_CHUNK): Promise<RetentionResult> {
  if (typeof policy !== 'object' || policy === null) throw new StoreInputError('retention policy must be an object');
  const now = requireTime('retention now', policy.now);
  const maxAgeMs = policy.maxAgeMs === undefined ? undefined : requireCount('retention maxAgeMs', policy.maxAgeMs);
  const maxRecords = policy.maxRecords === undefined ? undefined : requireCount('retention maxRecords', policy.maxRecords);
  const maxBytes = policy.maxBytes === undefined ? undefined : requireCount('retention maxBytes', policy.maxBytes);

  const { head, anchor: before } = await target.chainState();
  // Decided once, against the head as it is now: events appended meanwhile are never removed.
  let through = before.seq;
  if (maxRecords !== undefined) through = Math.max(through, head.seq - maxRecords);
  if (maxAgeMs !== undefined) {
    const cutoff = new Date(Math.max(0, now - maxAgeMs)).toISOString();
    // The longest run from the start that is all older than the cutoff: an event out of time
    // order (replicas' clocks differ a little) ends the run rather than being removed early.
    const firstYoung = await target.firstSeqAtOrAfter(before.seq, cutoff);
    through = Math.max(through, firstYoung === undefined ? head.seq : Math.min(firstYoung - 1, head.seq));
  }
  if (maxBytes !== undefined) {
    const overflow = await target.newestSeqOverBytes(before.seq, head.seq, maxBytes);
    if (overflow !== undefined) through = Math.max(through, overflow);
  }
  if (policy.keepAfterSeq !== undefined && Number.isFinite(policy.keepAfterSeq)) through = Math.min(through, Math.max(before.seq, requireCount('retention keepAfterSeq', policy.keepAfterSeq)));

  let removed = 0;
  let anchor = before;
  let stoppedAt: ChainProblem | undefined;
  while (anchor.seq < through) {
    const step = await target.removeThrough(Math.min(anchor.seq + chunk, through));
    removed += step.removed;
    anchor = step.anchor;
    if (step.problem) {
      stoppedAt = step.problem;
      break;
    }
    if (step.removed === 0) break;
  }
  return {
    removed,
    ...(removed > 0 && { fromSeq: before.seq + 1, toSeq: anchor.seq }),
    anchor,
    ...(stoppedAt && { stoppedAt }),
    ...(maxBytes !== undefined && { remainingBytes: await target.bytesAfter(anchor.seq) }),
  };
}

/**
 * What one retention step may remove: of `records` (those after `anchor`, oldest first, read
 * through one record beyond `throughSeq`, so that a rewritten last record shows in the next
 * one's link), the ones up to `throughSeq` that verify, stopping before the first problem.
 * With `head`: the records must end in the hash the head recorded. Returns how many to remove
 * and the new anchor.
 */
export function removablePrefix(
  anchor: ChainPoint,
  records: readonly StoredAuditEvent[],
  throughSeq: number,
  head: ChainPoint,
): { readonly count: number; readonly last: ChainPoint; readonly problem?: ChainProblem } {
  const result = verifyChain(records, { start: anchor, startIsAnchor: anchor.seq > 0 });
  let problem = result.ok ? undefined : result.problem;
  if (result.ok && result.last.seq === head.seq && result.last.hash !== head.hash) {
    problem = { kind: 'modified', seq: head.seq, message: `record ${head.seq} does not match the hash the chain head recorded for it: it was replaced, or the head was altered` };
  }
  const limit = problem ? Math.min(problem.seq - 1, throughSeq) : throughSeq;
  const keep = records.filter((r) => r.seq <= limit);
  const last = keep[keep.length - 1];
  return { count: keep.length, last: last ? { seq: last.seq, hash: last.hash } : anchor, ...(problem && { problem }) };
}
