/**
 * Why: the reads several store operations share (a user with their groups, the policy set, the
 * whole state a reload takes), written once as programs (sql-program.ts) that run on either
 * database.
 */
import {
  breakGlassFromRow,
  certificateFromRow,
  clusterFromRow,
  groupFromRow,
  num,
  policySetFromRows,
  sessionFromRow,
  SESSION_IDLE_WINDOW_MS,
  usersFromRows,
  type Row,
} from './record-rows';
import { firstRow, rows, type Program } from './sql-program';
import type { BreakGlassRecord, EdgeDrains, PolicySetRecord, StoreState, UserRecord } from './store';

export function* currentGeneration(): Program<number> {
  return num((yield* firstRow(`SELECT value FROM meta WHERE key = 'generation'`))!.value);
}

/** Advances the store-wide generation (on PostgreSQL this row lock serializes all mutations); the new value. */
export function* advanceGeneration(): Program<number> {
  return num((yield* firstRow(`UPDATE meta SET value = value + 1 WHERE key = 'generation' RETURNING value`))!.value);
}

export function* readUser(name: string): Program<UserRecord | undefined> {
  const found = yield* rows('SELECT * FROM users WHERE name = ?', [name]);
  if (found.length === 0) return undefined;
  return usersFromRows(found, yield* rows('SELECT user_name, group_name FROM user_groups WHERE user_name = ?', [name]))[0];
}

export function* readUsers(): Program<UserRecord[]> {
  return usersFromRows(yield* rows('SELECT * FROM users ORDER BY name'), yield* rows('SELECT user_name, group_name FROM user_groups'));
}

export function* readPolicySet(): Program<PolicySetRecord> {
  const set = yield* firstRow('SELECT * FROM policy_set WHERE id = 1');
  return policySetFromRows(set!, yield* rows('SELECT file_name, content FROM policy_files ORDER BY ordinal'));
}

export function* readBreakGlass(id: string): Program<BreakGlassRecord | undefined> {
  const row = yield* firstRow('SELECT * FROM break_glass WHERE id = ?', [id]);
  return row ? breakGlassFromRow(row) : undefined;
}

/** Everything loadState returns; run in one snapshot, so the generation matches the lists. */
export function* readState(now: number): Program<StoreState> {
  return {
    generation: yield* currentGeneration(),
    users: yield* readUsers(),
    groups: (yield* rows('SELECT * FROM groups ORDER BY name')).map(groupFromRow),
    revokedSerials: (yield* rows('SELECT serial FROM certificates WHERE revoked_at IS NOT NULL AND not_after > ? ORDER BY serial', [now])).map((r) => String(r.serial)),
    liveCertificates: (yield* rows('SELECT * FROM certificates WHERE revoked_at IS NULL AND not_after > ? ORDER BY user_name, serial', [now])).map(certificateFromRow),
    policySet: yield* readPolicySet(),
    breakGlass: (yield* rows(`SELECT * FROM break_glass WHERE state = 'pending' OR (state = 'active' AND expires_at > ?) ORDER BY requested_at DESC, id`, [now])).map(
      breakGlassFromRow,
    ),
    sessions: (yield* rows('SELECT * FROM sessions WHERE ended_at IS NULL AND last_active_at >= ? ORDER BY id', [now - SESSION_IDLE_WINDOW_MS])).map(sessionFromRow),
    clusters: (yield* rows('SELECT * FROM clusters ORDER BY name')).map(clusterFromRow),
    edgeDrains: edgeDrainsFromRows(yield* rows('SELECT scope, revision FROM edge_drains ORDER BY scope')),
  };
}

/** The scope of a user's drains in edge_drains; the shared users' chain is 'shared'. */
export const userDrainScope = (user: string): string => `user:${user}`;
export const SHARED_CHAIN_DRAIN_SCOPE = 'shared';
/** Counts user deletions (EdgeDrains.userDeletions). */
export const USER_DELETIONS_DRAIN_SCOPE = 'user-deletions';

function edgeDrainsFromRows(found: readonly Row[]): EdgeDrains {
  const users: Record<string, number> = {};
  let sharedChain = 0;
  let userDeletions = 0;
  for (const row of found) {
    const scope = String(row.scope);
    if (scope === SHARED_CHAIN_DRAIN_SCOPE) sharedChain = num(row.revision);
    else if (scope === USER_DELETIONS_DRAIN_SCOPE) userDeletions = num(row.revision);
    else if (scope.startsWith('user:')) users[scope.slice('user:'.length)] = num(row.revision);
  }
  return { users, sharedChain, userDeletions };
}

/** The rows a statement returns, each mapped to a record. */
export function* mapRows<T>(sql: string, params: readonly unknown[], map: (row: Row) => T): Program<T[]> {
  return (yield* rows(sql, params)).map(map);
}

/** The record the first row a statement returns maps to, if it returns any. */
export function* optionalRow<T>(sql: string, params: readonly unknown[], map: (row: Row) => T): Program<T | undefined> {
  const row = yield* firstRow(sql, params);
  return row ? map(row) : undefined;
}
