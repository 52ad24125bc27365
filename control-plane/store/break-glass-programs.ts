/**
 * Why: break-glass requests are the store's one record written with optimistic concurrency (a
 * revision the writer must have read), so their statements live together here as programs
 * (sql-program.ts), and sql-store.ts keeps only the checks of its inputs and the transactions.
 * The caller has validated every input.
 */
import { breakGlassFromRow, breakGlassValues, BREAK_GLASS_COLUMNS } from './record-rows';
import { count, firstRow, type Program } from './sql-program';
import { mapRows } from './store-reads';
import { StoreConflictError, StoreNotFoundError, type BreakGlassRecord, type BreakGlassState } from './store';

const BREAK_GLASS_INSERT = `INSERT INTO break_glass (${BREAK_GLASS_COLUMNS.join(', ')}, revision)
  VALUES (${BREAK_GLASS_COLUMNS.map(() => '?').join(', ')}, 0) ON CONFLICT (id) DO NOTHING RETURNING *`;
// The values of every column but the id, then the id, then the revision the caller read.
const BREAK_GLASS_UPDATE = `UPDATE break_glass SET ${BREAK_GLASS_COLUMNS.slice(1)
  .map((c) => `${c} = ?`)
  .join(', ')}, revision = revision + 1 WHERE id = ? AND revision = ? RETURNING *`;

export function* insertBreakGlass(record: Omit<BreakGlassRecord, 'revision'>): Program<BreakGlassRecord> {
  const row = yield* firstRow(BREAK_GLASS_INSERT, breakGlassValues(record));
  if (!row) throw new StoreConflictError(`break-glass request "${record.id}" already exists`);
  return breakGlassFromRow(row);
}

/** Newest first; `undefined` leaves a filter out, an empty list of states matches nothing. */
export function selectBreakGlass(user: string | undefined, states: readonly BreakGlassState[] | undefined): Program<BreakGlassRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (user !== undefined) {
    where.push('user_name = ?');
    params.push(user);
  }
  if (states !== undefined) {
    where.push(states.length === 0 ? 'FALSE' : `state IN (${states.map(() => '?').join(', ')})`);
    params.push(...states);
  }
  const sql = `SELECT * FROM break_glass ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, id`;
  return mapRows(sql, params, breakGlassFromRow);
}

/** Writes `next` only if the stored request is still at `revision`, the one its writer read. */
export function* updateBreakGlass(next: Omit<BreakGlassRecord, 'revision'>, revision: number): Program<BreakGlassRecord> {
  const row = yield* firstRow(BREAK_GLASS_UPDATE, [...breakGlassValues(next).slice(1), next.id, revision]);
  if (row) return breakGlassFromRow(row);
  const current = yield* firstRow('SELECT revision FROM break_glass WHERE id = ?', [next.id]);
  if (!current) throw new StoreNotFoundError('break-glass request', next.id);
  throw new StoreConflictError(`break-glass request "${next.id}" is at revision ${String(current.revision)}, not ${revision}: it changed in between; reload and retry`);
}

/** A revoked user's pending and active requests end as cancelled. */
export function* cancelLiveBreakGlass(user: string, by: string): Program<void> {
  // The revision advances too, so an approval computed from the old record cannot
  // overwrite the cancellation.
  yield* count(
    `UPDATE break_glass SET state = 'cancelled', ended_by = ?, end_reason = 'revoked', revision = revision + 1
         WHERE user_name = ? AND state IN ('pending', 'active')`,
    [by, user],
  );
}
