/**
 * Verifies the chain as a store holds it, however long: page by page from the retention anchor
 * to the head, each page checked with verifyChain against the last record of the page before,
 * so memory stays one page whatever the size. Shared by both audit log implementations, which
 * supply the reads (ChainSource).
 *
 * Beyond verifyChain's checks, the walk compares its end with the chain head the store records
 * at every append, so records removed from the end are reported too; and when a record's
 * prevHash matches nothing on its page, it searches the whole store for it, to tell a record
 * moved from far away (reordered) from one rewritten in place (modified).
 *
 * Retention may remove the start of the chain while a walk is under way; a walk that found a
 * problem after the anchor moved is run again from the new anchor (a few times at most), so a
 * concurrent retention is never reported as tampering.
 */
import type { StoredAuditEvent } from './audit-event';
import { verifyChain, type ChainPoint, type ChainProblem } from './audit-hash-chain';
import type { AuditVerification, AuditVerifyRange } from './audit-log';

export interface ChainState {
  readonly head: ChainPoint;
  readonly anchor: ChainPoint;
}

/** What the verifier reads from a store. */
export interface ChainSource {
  chainState(): Promise<ChainState>;
  /** Records with afterSeq < seq ≤ toSeq, oldest first, at most `limit`. */
  page(afterSeq: number, toSeq: number, limit: number): Promise<StoredAuditEvent[]>;
  /** The record with the highest seq below `seq`, if any. */
  recordBefore(seq: number): Promise<ChainPoint | undefined>;
  /** The seq of a record with this hash, if any (may scan the table: used after a problem only). */
  seqOfHash(hash: string): Promise<number | undefined>;
}

export const VERIFY_PAGE_SIZE = 1000;
const ATTEMPTS = 3;

export async function verifyStoredChain(source: ChainSource, range: AuditVerifyRange = {}, pageSize = VERIFY_PAGE_SIZE): Promise<AuditVerification> {
  for (let attempt = 1; ; attempt++) {
    const result = await walk(source, range, pageSize);
    if (result.ok || attempt === ATTEMPTS) return result;
    const now = await source.chainState();
    if (now.anchor.seq === result.anchor.seq) return result;
  }
}

async function walk(source: ChainSource, range: AuditVerifyRange, pageSize: number): Promise<AuditVerification> {
  const { head, anchor } = await source.chainState();
  const from = Math.max(range.fromSeq ?? anchor.seq + 1, anchor.seq + 1);
  const to = Math.min(range.toSeq ?? head.seq, head.seq);
  const report = (checked: number, problem?: ChainProblem): AuditVerification => ({ ok: !problem, from, to, checked, head, anchor, ...(problem && { problem }) });
  if (from > to) return report(0);

  // Where the walk starts: the anchor, or (for a later range) the record before the range.
  let start: ChainPoint = anchor;
  let startIsAnchor = anchor.seq > 0;
  if (from > anchor.seq + 1) {
    const before = await source.recordBefore(from);
    if (before && before.seq > anchor.seq) {
      start = before;
      startIsAnchor = false;
    }
  }
  let checked = 0;
  let prev = start;
  for (;;) {
    const events = await source.page(prev.seq, to, pageSize);
    if (events.length === 0) break;
    let result = verifyChain(events, { start: prev, startIsAnchor });
    if (!result.ok && result.problem.unmatchedPrevHash !== undefined) {
      const elsewhere = await source.seqOfHash(result.problem.unmatchedPrevHash);
      if (elsewhere !== undefined) result = verifyChain(events, { start: prev, startIsAnchor, knownHashes: new Map([[result.problem.unmatchedPrevHash, elsewhere]]) });
    }
    if (!result.ok) return report(checked + result.checked, withoutSearchHint(result.problem));
    checked += result.checked;
    prev = result.last;
    startIsAnchor = false;
    if (events.length < pageSize) break;
  }
  if (prev.seq < to) {
    const missing = prev.seq + 1 === to ? `record ${to} is missing` : `records ${prev.seq + 1} to ${to} are missing`;
    return report(checked, { kind: 'removed', seq: prev.seq + 1, toSeq: to, message: `${missing}: removed from the end (the chain head is record ${head.seq})` });
  }
  if (to === head.seq && prev.hash !== head.hash) {
    return report(checked, { kind: 'modified', seq: to, message: `record ${to} does not match the hash the chain head recorded for it: it was replaced, or the head was altered` });
  }
  return report(checked);
}

/** The search hint has served its purpose once the store was searched. */
function withoutSearchHint(problem: ChainProblem): ChainProblem {
  const { unmatchedPrevHash: _hint, ...rest } = problem;
  return rest;
}
