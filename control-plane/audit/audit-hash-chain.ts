/**
 * The audit trail's tamper evidence: every stored event carries the SHA-256 of the event
 * before it and of its own content, so changing, removing or reordering a record breaks the
 * chain at that record. Pure functions, shared by the stores (which assign the hashes), the
 * verifier and anyone holding an export who wants to check it.
 *
 *   hash(event) = hex(SHA-256(prevHash + "\n" + canonicalAuditJson(event)))
 *
 * The canonical JSON covers exactly the AuditEvent fields (AUDIT_EVENT_FIELDS), keys in
 * code-point order, absent (undefined or null) optional fields left out, no whitespace.
 * Storage metadata (seq, prevHash, hash) and any other property an object happens to carry are
 * not part of it: an event hashes the same whether it is read back from SQLite, PostgreSQL or
 * an export. A field added to AuditEvent later leaves the hashes of older events (which lack
 * it) unchanged, since absent fields are left out.
 *
 * `seq` is deliberately outside the hash (the record's position is what the prevHash links
 * pin down): swapping two records' numbers leaves each record's own hash intact, and shows as
 * a record chained to the wrong predecessor, which verifyChain reports as a reorder.
 */
import * as crypto from 'node:crypto';
import type { AuditEvent, StoredAuditEvent } from './audit-event';

/** Every field of AuditEvent, in code-point order: the canonical JSON's key order. */
export const AUDIT_EVENT_FIELDS = [
  'apiGroup',
  'breakGlassId',
  'bytesReceived',
  'bytesSent',
  'cluster',
  'decision',
  'durationMs',
  'groups',
  'kubectlCommand',
  'kubectlSession',
  'method',
  'name',
  'namespace',
  'path',
  'policy',
  'reason',
  'reportedBy',
  'requestId',
  'resource',
  'responseFlags',
  'sourceAddress',
  'stage',
  'status',
  'subresource',
  'terminationDetails',
  'time',
  'upgrade',
  'upstreamAddress',
  'user',
  'userAgent',
  'verb',
] as const satisfies readonly (keyof AuditEvent)[];

// A field added to AuditEvent without being added above fails to compile here, so it cannot
// silently stay outside the hash.
type UnlistedField = Exclude<keyof AuditEvent, (typeof AUDIT_EVENT_FIELDS)[number]>;
const everyFieldListed: [UnlistedField] extends [never] ? true : UnlistedField = true;
void everyFieldListed;

/** The chain before a record: the seq and hash of the record it must follow. */
export interface ChainPoint {
  readonly seq: number;
  /** '' before the first record ever. */
  readonly hash: string;
}

/** The start of the chain when nothing was ever removed: before record 1. */
export const CHAIN_ORIGIN: ChainPoint = { seq: 0, hash: '' };

type CanonicalFields = Record<(typeof AUDIT_EVENT_FIELDS)[number], unknown>;

/** null reads as absent; JSON.stringify leaves undefined properties out. */
const present = (value: unknown): unknown => (value === null ? undefined : value);

/** The event's canonical JSON: what its hash covers. */
export function canonicalAuditJson(event: AuditEvent): string {
  // One JSON.stringify of an object literal whose keys are written in AUDIT_EVENT_FIELDS order
  // (the type makes it list every field; test/audit/audit-hash-chain.test.ts checks the order).
  // A literal has one fixed shape, which V8 serializes about twice as fast as an object built
  // key by key, and this runs for every record appended.
  const e = event as unknown as CanonicalFields;
  const ordered: CanonicalFields = {
    apiGroup: present(e.apiGroup),
    breakGlassId: present(e.breakGlassId),
    bytesReceived: present(e.bytesReceived),
    bytesSent: present(e.bytesSent),
    cluster: present(e.cluster),
    decision: present(e.decision),
    durationMs: present(e.durationMs),
    groups: present(e.groups),
    kubectlCommand: present(e.kubectlCommand),
    kubectlSession: present(e.kubectlSession),
    method: present(e.method),
    name: present(e.name),
    namespace: present(e.namespace),
    path: present(e.path),
    policy: present(e.policy),
    reason: present(e.reason),
    reportedBy: present(e.reportedBy),
    requestId: present(e.requestId),
    resource: present(e.resource),
    responseFlags: present(e.responseFlags),
    sourceAddress: present(e.sourceAddress),
    stage: present(e.stage),
    status: present(e.status),
    subresource: present(e.subresource),
    terminationDetails: present(e.terminationDetails),
    time: present(e.time),
    upgrade: present(e.upgrade),
    upstreamAddress: present(e.upstreamAddress),
    user: present(e.user),
    userAgent: present(e.userAgent),
    verb: present(e.verb),
  };
  return JSON.stringify(ordered);
}

/** hex(SHA-256(prevHash + "\n" + canonical JSON)). */
export function auditEventHash(prevHash: string, event: AuditEvent): string {
  return chainAuditEvent(prevHash, event).hash;
}

// crypto.hash (Node 20.12+) hashes in one call, without a Hash object: about 40% cheaper for a
// record's few hundred bytes. Same digest either way.
const sha256Hex: (data: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (data) => (crypto as unknown as { hash(algorithm: string, data: string, encoding: 'hex'): string }).hash('sha256', data, 'hex')
    : (data) => crypto.createHash('sha256').update(data).digest('hex');

/**
 * The hash and the canonical JSON's UTF-8 length (the record's size for retention) from one
 * serialization: appends need both, and the JSON is most of the cost.
 */
export function chainAuditEvent(prevHash: string, event: AuditEvent): { hash: string; sizeBytes: number } {
  const json = canonicalAuditJson(event);
  return { hash: sha256Hex(`${prevHash}\n${json}`), sizeBytes: Buffer.byteLength(json, 'utf8') };
}

/**
 * What is wrong with a chain, at the first record where it goes wrong:
 *   modified   a record's content does not match its hash (`seq` is that record), or a record
 *              was rewritten together with its hash, so the next record no longer links to it
 *              (`seq` is the rewritten record)
 *   removed    records are missing: `seq` is the first missing one, `toSeq` the last
 *   reordered  records are out of order: a record is chained to another predecessor than the
 *              one before it, or its number is not above the one before it
 */
export interface ChainProblem {
  readonly kind: 'modified' | 'removed' | 'reordered';
  readonly seq: number;
  /** removed: the last missing record. */
  readonly toSeq?: number;
  /** For people: what is wrong, naming the records. */
  readonly message: string;
  /**
   * When a record's prevHash matched no record that was looked at: that prevHash, so a caller
   * that can search further (the whole store) can tell a reorder from a rewrite.
   */
  readonly unmatchedPrevHash?: string;
}

export type ChainVerification =
  | { readonly ok: true; readonly checked: number; readonly last: ChainPoint }
  | { readonly ok: false; readonly checked: number; readonly problem: ChainProblem };

export interface VerifyChainOptions {
  /**
   * What the first record must follow. @default CHAIN_ORIGIN. After retention it is the chain
   * anchor (the last removed record); when verifying a later part, the record before it.
   */
  readonly start?: ChainPoint;
  /** The start is the retention anchor (a removed record), not a record still present. */
  readonly startIsAnchor?: boolean;
  /**
   * Hashes of records outside `events` and their seqs, to recognise a record chained to one of
   * them as reordered. The events' own hashes are always known.
   */
  readonly knownHashes?: ReadonlyMap<string, number>;
}

/**
 * Checks `events` (in the order given, which should be seq order) as one stretch of the
 * chain; returns how many records were checked and, if something is wrong, the first problem.
 */
export function verifyChain(events: readonly StoredAuditEvent[], options: VerifyChainOptions = {}): ChainVerification {
  let prev: ChainPoint = options.start ?? CHAIN_ORIGIN;
  let prevIsAnchor = options.startIsAnchor ?? false;
  let ownHashes: Map<string, number> | undefined;
  const locate = (hash: string): number | undefined => {
    ownHashes ??= new Map(events.map((e) => [e.hash, e.seq]));
    return ownHashes.get(hash) ?? options.knownHashes?.get(hash);
  };
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const fail = (problem: ChainProblem): ChainVerification => ({ ok: false, checked: i, problem });
    if (!Number.isSafeInteger(e.seq) || e.seq <= prev.seq) {
      return fail({
        kind: 'reordered',
        seq: e.seq,
        message: e.seq === prev.seq ? `record ${e.seq} appears twice` : `record ${e.seq} comes after record ${prev.seq}: the records are out of order`,
      });
    }
    if (e.seq > prev.seq + 1) {
      const from = prev.seq + 1;
      const to = e.seq - 1;
      const skipped = events.slice(i + 1).find((later) => later.seq >= from && later.seq <= to);
      if (skipped) {
        return fail({ kind: 'reordered', seq: e.seq, message: `record ${e.seq} comes before record ${skipped.seq}: the records are out of order` });
      }
      return fail({ kind: 'removed', seq: from, toSeq: to, message: from === to ? `record ${from} is missing: it was removed` : `records ${from} to ${to} are missing: they were removed` });
    }
    if (auditEventHash(e.prevHash, e) !== e.hash) {
      return fail({ kind: 'modified', seq: e.seq, message: `record ${e.seq} was modified: its content does not match its hash` });
    }
    if (e.prevHash !== prev.hash) {
      const chainedTo = locate(e.prevHash);
      if (chainedTo !== undefined && chainedTo !== e.seq) {
        return fail({ kind: 'reordered', seq: e.seq, message: `record ${e.seq} is chained to record ${chainedTo}, not to record ${prev.seq} before it: the records were reordered` });
      }
      if (prev.seq === 0) {
        return fail({
          kind: 'modified',
          seq: e.seq,
          message: `record ${e.seq} was modified: it starts the chain but is chained to an earlier record`,
          unmatchedPrevHash: e.prevHash,
        });
      }
      if (prevIsAnchor) {
        return fail({
          kind: 'modified',
          seq: e.seq,
          message: `record ${e.seq} does not continue from the chain anchor (record ${prev.seq}, the last one retention removed): the record or the anchor was modified`,
          unmatchedPrevHash: e.prevHash,
        });
      }
      return fail({
        kind: 'modified',
        seq: prev.seq,
        message: `record ${prev.seq} was modified and its hash recomputed: record ${e.seq} was chained to a different record ${prev.seq}`,
        unmatchedPrevHash: e.prevHash,
      });
    }
    prev = { seq: e.seq, hash: e.hash };
    prevIsAnchor = false;
  }
  return { ok: true, checked: events.length, last: prev };
}
