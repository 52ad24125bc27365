/**
 * The store for several control-plane replicas: one PostgreSQL database shared by all.
 *
 * Writers: every mutating transaction starts by advancing the generation row
 * (`UPDATE meta ... RETURNING`), which row-locks it until COMMIT. That one lock serializes all
 * mutations across replicas, in the order their generations say, and since every writer takes
 * it first there is no lock-order deadlock. Each later statement (READ COMMITTED) then sees
 * everything committed before the lock was granted, so checks such as "does this user exist"
 * hold until COMMIT. Revisioned records (policy set, break-glass) are additionally updated with
 * `WHERE revision = $n`, so a stale writer is refused even without that serialization.
 *
 * Change notification: the transaction also calls pg_notify('kubegate_store', <json>), which
 * PostgreSQL delivers at COMMIT and never for a rolled-back transaction. Each replica LISTENs
 * on a dedicated connection (PostgresListener) and passes other replicas' changes to its
 * `watch` listeners; its own changes it reports directly after COMMIT (and skips their echo,
 * recognised by the instance id in the payload), so the caller's listeners have run by the
 * time the mutation resolves. After the listening connection is restored, listeners are told
 * once with the current generation, since notifications sent meanwhile are lost.
 */
import { randomUUID } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import { silentLogger, type Logger } from '../log/logger';
import { ChangeListeners } from './change-listeners';
import { describeError, isConnectionError, sqlState, UNIQUE_VIOLATION } from './postgres-errors';
import { runPgTransaction } from './postgres-transaction';
import { PostgresListener, type ListenerBackoff } from './postgres-listener';
import {
  breakGlassFromRow,
  breakGlassValues,
  BREAK_GLASS_COLUMNS,
  certificateFromRow,
  clusterFromRow,
  clusterValues,
  CLUSTER_COLUMNS,
  groupFromRow,
  joinTokenFromRow,
  num,
  policySetFromRows,
  sessionFromRow,
  SESSION_IDLE_WINDOW_MS,
  usersFromRows,
  type Row,
} from './record-rows';
import { joinTokenRejection } from './join-token-check';
import { redactUrl } from './redact-url';
import { migrationsAfter, SCHEMA_VERSION_TABLE } from './schema';
import {
  JoinTokenRejectedError,
  StoreConflictError,
  StoreError,
  StoreNotFoundError,
  StoreUnavailableError,
  type BreakGlassRecord,
  type BreakGlassState,
  type CertificateRecord,
  type ClusterRecord,
  type ConsoleSessionRecord,
  type GroupRecord,
  type JoinTokenRecord,
  type PolicyFileRecord,
  type PolicySetRecord,
  type Store,
  type StoreChange,
  type StoreState,
  type UserRecord,
} from './store';
import {
  normalizeGroups,
  requireBoolean,
  requireBreakGlass,
  requireBreakGlassState,
  requireCluster,
  requireClusterName,
  requireCount,
  requireJoinToken,
  requireName,
  requirePolicyFiles,
  requireSecretHash,
  requireSerial,
  requireText,
  requireTime,
  StoreInputError,
} from './store-input';

export interface PostgresStoreOptions {
  /** @default silentLogger */
  readonly logger?: Logger;
  /** Connections for queries; the LISTEN connection comes on top. @default 5 */
  readonly poolSize?: number;
  /** How long opening a connection may take. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Reconnect pacing of the LISTEN connection. */
  readonly listenerBackoff?: ListenerBackoff;
}

/** The NOTIFY channel every replica listens on. */
export const STORE_CHANNEL = 'kubegate_store';

/** The payload of a notification on STORE_CHANNEL. */
interface ChangeMessage {
  /** The store instance that committed the change, so it can skip its own echo. */
  readonly origin: string;
  readonly generation: number;
  readonly sessionActivity?: ConsoleSessionRecord;
  readonly clusterSeen?: { readonly name: string; readonly lastSeenAt: number };
}

/** Any number: serializes concurrent migrations of one database by several replicas. */
const MIGRATION_LOCK_KEY = 0x6b756265; // "kube"

const BREAK_GLASS_INSERT = `INSERT INTO break_glass (${BREAK_GLASS_COLUMNS.join(', ')}, revision)
  VALUES (${BREAK_GLASS_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}, 0) ON CONFLICT (id) DO NOTHING RETURNING *`;
// $1 is the id; the revision the caller read follows the columns.
const BREAK_GLASS_UPDATE = `UPDATE break_glass SET ${BREAK_GLASS_COLUMNS.slice(1)
  .map((c, i) => `${c} = $${i + 2}`)
  .join(', ')}, revision = revision + 1 WHERE id = $1 AND revision = $${BREAK_GLASS_COLUMNS.length + 1} RETURNING *`;
// Replacing a cluster keeps its registered_at (the last column) from the first time.
const CLUSTER_UPSERT = `INSERT INTO clusters (${CLUSTER_COLUMNS.join(', ')}) VALUES (${CLUSTER_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (name) DO UPDATE SET ${CLUSTER_COLUMNS.slice(1, -1)
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(', ')} RETURNING *`;

type Db = Pick<PoolClient, 'query'>;

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  /** The URL with its password masked: safe for status pages and logs. */
  readonly location: string;
  private readonly instanceId = randomUUID();
  private readonly listeners: ChangeListeners;
  private listener: PostgresListener | undefined;
  private closed = false;

  /**
   * Connects, brings the schema up to date and starts listening. Any failure (bad URL, server
   * unreachable, authentication, missing database, a newer schema) is a StoreUnavailableError
   * naming the URL with its password masked.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const location = redactUrl(String(url));
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new StoreUnavailableError(`invalid PostgreSQL URL ${location}: expected postgres://user:password@host:port/database`);
    }
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
      throw new StoreUnavailableError(`invalid PostgreSQL URL ${location}: the scheme must be postgres:// or postgresql://`);
    }
    const logger = options.logger ?? silentLogger;
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const pool = new Pool({
      connectionString: url,
      max: options.poolSize ?? 5,
      connectionTimeoutMillis: connectTimeoutMs,
      keepAlive: true,
      application_name: 'kubegate-store',
    });
    // An idle pooled connection that dies emits 'error' on the pool; unhandled, that would
    // end the process. The pool drops that connection and opens another when next needed.
    pool.on('error', (err) => logger.warn('idle store connection failed', { err, store: location }));
    const store = new PostgresStore(pool, location, logger);
    try {
      // A first connection on its own, so that an unreachable server, a refused login or a
      // missing database is reported as what it is.
      (await pool.connect()).release();
      await store.migrate();
      store.listener = new PostgresListener({
        config: { connectionString: url, connectionTimeoutMillis: connectTimeoutMs },
        channel: STORE_CHANNEL,
        onNotification: (payload) => store.onNotification(payload),
        onReconnect: () => store.onListenerReconnect(),
        logger,
        backoff: options.listenerBackoff,
      });
      await store.listener.start();
    } catch (err) {
      await store.close();
      if (err instanceof StoreError) throw err;
      throw new StoreUnavailableError(`cannot open PostgreSQL store ${location}: ${describeError(err)}`, (err as { stack?: string }).stack);
    }
    logger.info('postgres store open', { store: location });
    return store;
  }

  private constructor(
    private readonly pool: Pool,
    location: string,
    private readonly logger: Logger,
  ) {
    this.location = location;
    this.listeners = new ChangeListeners(logger);
  }

  async loadState(now: number): Promise<StoreState> {
    requireTime('now', now);
    // One snapshot for everything, so the generation matches the lists.
    return this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (db) => ({
      generation: await this.currentGeneration(db),
      users: await this.readUsers(db),
      groups: (await rows(db, 'SELECT * FROM groups ORDER BY name')).map(groupFromRow),
      revokedSerials: (await rows(db, 'SELECT serial FROM certificates WHERE revoked_at IS NOT NULL AND not_after > $1 ORDER BY serial', [now])).map((r) => String(r.serial)),
      liveCertificates: (await rows(db, 'SELECT * FROM certificates WHERE revoked_at IS NULL AND not_after > $1 ORDER BY user_name, serial', [now])).map(certificateFromRow),
      policySet: await this.readPolicySet(db),
      breakGlass: (
        await rows(db, `SELECT * FROM break_glass WHERE state = 'pending' OR (state = 'active' AND expires_at > $1) ORDER BY requested_at DESC, id`, [now])
      ).map(breakGlassFromRow),
      sessions: (await rows(db, 'SELECT * FROM sessions WHERE ended_at IS NULL AND last_active_at >= $1 ORDER BY id', [now - SESSION_IDLE_WINDOW_MS])).map(sessionFromRow),
      clusters: (await rows(db, 'SELECT * FROM clusters ORDER BY name')).map(clusterFromRow),
    }));
  }

  async generation(): Promise<number> {
    return this.read((db) => this.currentGeneration(db));
  }

  watch(listener: (change: StoreChange) => void): () => void {
    return this.listeners.add(listener);
  }

  async createUser(user: { name: string; groups: readonly string[]; now: number }): Promise<UserRecord> {
    const name = requireName('user name', user?.name);
    const groups = normalizeGroups(user.groups);
    const now = requireTime('now', user.now);
    return this.mutate(async (db) => {
      const inserted = await rows(db, 'INSERT INTO users (name, disabled, created_at, updated_at, credential_revision) VALUES ($1, FALSE, $2, $2, 0) ON CONFLICT (name) DO NOTHING RETURNING name', [name, now]);
      if (inserted.length === 0) throw new StoreConflictError(`user "${name}" already exists`);
      await insertGroups(db, name, groups);
      return (await this.readUser(db, name))!;
    });
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    requireName('user name', name);
    return this.read((db) => this.readUser(db, name));
  }

  async listUsers(): Promise<UserRecord[]> {
    return this.read((db) => this.readUsers(db));
  }

  async setUserGroups(name: string, groups: readonly string[], now: number): Promise<UserRecord> {
    requireName('user name', name);
    const normalized = normalizeGroups(groups);
    requireTime('now', now);
    return this.mutate(async (db) => {
      if ((await rows(db, 'UPDATE users SET updated_at = $1 WHERE name = $2 RETURNING name', [now, name])).length === 0) throw new StoreNotFoundError('user', name);
      await db.query('DELETE FROM user_groups WHERE user_name = $1', [name]);
      await insertGroups(db, name, normalized);
      return (await this.readUser(db, name))!;
    });
  }

  async setUserDisabled(name: string, disabled: boolean, now: number): Promise<UserRecord> {
    requireName('user name', name);
    requireBoolean('disabled', disabled);
    requireTime('now', now);
    return this.mutate(async (db) => {
      if ((await rows(db, 'UPDATE users SET disabled = $1, updated_at = $2 WHERE name = $3 RETURNING name', [disabled, now, name])).length === 0) {
        throw new StoreNotFoundError('user', name);
      }
      return (await this.readUser(db, name))!;
    });
  }

  async deleteUser(name: string): Promise<void> {
    requireName('user name', name);
    // Certificates, sessions and memberships go with the user (ON DELETE CASCADE).
    return this.mutate(async (db) => {
      if ((await db.query('DELETE FROM users WHERE name = $1', [name])).rowCount === 0) throw new StoreNotFoundError('user', name);
    });
  }

  async createGroup(group: { name: string; description?: string; now: number }): Promise<GroupRecord> {
    const name = requireName('group name', group?.name);
    const description = requireText('group description', group.description ?? '');
    const now = requireTime('now', group.now);
    return this.mutate(async (db) => {
      const [row] = await rows(db, 'INSERT INTO groups (name, description, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING *', [name, description, now]);
      if (!row) throw new StoreConflictError(`group "${name}" already exists`);
      return groupFromRow(row);
    });
  }

  async listGroups(): Promise<GroupRecord[]> {
    return this.read(async (db) => (await rows(db, 'SELECT * FROM groups ORDER BY name')).map(groupFromRow));
  }

  async deleteGroup(name: string, now: number): Promise<void> {
    requireName('group name', name);
    requireTime('now', now);
    return this.mutate(async (db) => {
      if ((await db.query('DELETE FROM groups WHERE name = $1', [name])).rowCount === 0) throw new StoreNotFoundError('group', name);
      await db.query('UPDATE users SET updated_at = $1 WHERE name IN (SELECT user_name FROM user_groups WHERE group_name = $2)', [now, name]);
      await db.query('DELETE FROM user_groups WHERE group_name = $1', [name]);
    });
  }

  async recordCertificate(cert: CertificateRecord): Promise<void> {
    const serial = requireSerial(cert?.serial);
    const user = requireName('certificate user', cert.user);
    const notBefore = requireTime('certificate notBefore', cert.notBefore);
    const notAfter = requireTime('certificate notAfter', cert.notAfter);
    const issuedAt = requireTime('certificate issuedAt', cert.issuedAt);
    const revokedAt = cert.revokedAt === undefined ? null : requireTime('certificate revokedAt', cert.revokedAt);
    if (notAfter <= notBefore) throw new StoreInputError(`certificate ${serial} notAfter must be later than its notBefore`);
    return this.mutate(async (db) => {
      if ((await rows(db, 'SELECT 1 AS found FROM users WHERE name = $1', [user])).length === 0) throw new StoreNotFoundError('user', user);
      const inserted = await rows(
        db,
        'INSERT INTO certificates (serial, user_name, not_before, not_after, issued_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (serial) DO NOTHING RETURNING serial',
        [serial, user, notBefore, notAfter, issuedAt, revokedAt],
      );
      if (inserted.length === 0) throw new StoreConflictError(`certificate serial ${serial} is already recorded`);
    });
  }

  async listCertificates(user: string): Promise<CertificateRecord[]> {
    requireName('user name', user);
    return this.read(async (db) => (await rows(db, 'SELECT * FROM certificates WHERE user_name = $1 ORDER BY issued_at, serial', [user])).map(certificateFromRow));
  }

  async revokeUser(name: string, now: number, by: string): Promise<{ user: UserRecord; revokedCertificates: number }> {
    requireName('user name', name);
    requireTime('now', now);
    requireName('revoked by', by);
    return this.mutate(async (db) => {
      if ((await rows(db, 'UPDATE users SET credential_revision = credential_revision + 1, updated_at = $1 WHERE name = $2 RETURNING name', [now, name])).length === 0) {
        throw new StoreNotFoundError('user', name);
      }
      const revoked = await db.query('UPDATE certificates SET revoked_at = $1 WHERE user_name = $2 AND revoked_at IS NULL', [now, name]);
      await db.query('UPDATE sessions SET ended_at = $1 WHERE user_name = $2 AND ended_at IS NULL', [now, name]);
      // The revision advances too, so an approval computed from the old record cannot
      // overwrite the cancellation.
      await db.query(
        `UPDATE break_glass SET state = 'cancelled', ended_by = $1, end_reason = 'revoked', revision = revision + 1
         WHERE user_name = $2 AND state IN ('pending', 'active')`,
        [by, name],
      );
      return { user: (await this.readUser(db, name))!, revokedCertificates: revoked.rowCount ?? 0 };
    });
  }

  async getPolicySet(): Promise<PolicySetRecord> {
    return this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', (db) => this.readPolicySet(db));
  }

  async applyPolicySet(set: { files: readonly PolicyFileRecord[]; appliedAt: number; appliedBy: string; expectedRevision: number }): Promise<PolicySetRecord> {
    const files = requirePolicyFiles(set?.files);
    const appliedAt = requireTime('appliedAt', set.appliedAt);
    const appliedBy = requireName('appliedBy', set.appliedBy);
    const expected = requireCount('expectedRevision', set.expectedRevision);
    return this.mutate(async (db) => {
      const updated = await rows(db, 'UPDATE policy_set SET revision = revision + 1, applied_at = $1, applied_by = $2 WHERE id = 1 AND revision = $3 RETURNING revision', [appliedAt, appliedBy, expected]);
      if (updated.length === 0) {
        const [current] = await rows(db, 'SELECT revision FROM policy_set WHERE id = 1');
        throw new StoreConflictError(`policy set is at revision ${String(current?.revision)}, not ${expected}: someone applied in between; reload and apply again`);
      }
      await db.query('DELETE FROM policy_files');
      for (const [i, f] of files.entries()) await db.query('INSERT INTO policy_files (file_name, ordinal, content) VALUES ($1, $2, $3)', [f.fileName, i, f.text]);
      return this.readPolicySet(db);
    });
  }

  async createBreakGlass(record: Omit<BreakGlassRecord, 'revision'>): Promise<BreakGlassRecord> {
    const valid = requireBreakGlass(record);
    return this.mutate(async (db) => {
      const [row] = await rows(db, BREAK_GLASS_INSERT, breakGlassValues(valid));
      if (!row) throw new StoreConflictError(`break-glass request "${valid.id}" already exists`);
      return breakGlassFromRow(row);
    });
  }

  async getBreakGlass(id: string): Promise<BreakGlassRecord | undefined> {
    requireName('break-glass id', id);
    return this.read(async (db) => {
      const [row] = await rows(db, 'SELECT * FROM break_glass WHERE id = $1', [id]);
      return row ? breakGlassFromRow(row) : undefined;
    });
  }

  async listBreakGlass(filter: { user?: string; states?: readonly BreakGlassState[] } = {}): Promise<BreakGlassRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.user !== undefined) {
      params.push(requireName('user filter', filter.user));
      where.push(`user_name = $${params.length}`);
    }
    if (filter.states !== undefined) {
      // An empty list matches nothing, as a set of states should.
      params.push(filter.states.map((s, i) => requireBreakGlassState(`states[${i}]`, s)));
      where.push(`state = ANY($${params.length}::text[])`);
    }
    const sql = `SELECT * FROM break_glass ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, id`;
    return this.read(async (db) => (await rows(db, sql, params)).map(breakGlassFromRow));
  }

  async updateBreakGlass(next: BreakGlassRecord): Promise<BreakGlassRecord> {
    const valid = requireBreakGlass(next);
    const revision = requireCount(`break-glass "${valid.id}" revision`, next.revision);
    return this.mutate(async (db) => {
      const [row] = await rows(db, BREAK_GLASS_UPDATE, [...breakGlassValues(valid), revision]);
      if (row) return breakGlassFromRow(row);
      const [current] = await rows(db, 'SELECT revision FROM break_glass WHERE id = $1', [valid.id]);
      if (!current) throw new StoreNotFoundError('break-glass request', valid.id);
      throw new StoreConflictError(`break-glass request "${valid.id}" is at revision ${String(current.revision)}, not ${revision}: it changed in between; reload and retry`);
    });
  }

  async createSession(session: { id: string; user: string; now: number }): Promise<ConsoleSessionRecord> {
    const id = requireName('session id', session?.id);
    const user = requireName('session user', session.user);
    const now = requireTime('now', session.now);
    return this.mutate(async (db) => {
      if ((await rows(db, 'SELECT 1 AS found FROM users WHERE name = $1', [user])).length === 0) throw new StoreNotFoundError('user', user);
      const [row] = await rows(db, 'INSERT INTO sessions (id, user_name, created_at, last_active_at) VALUES ($1, $2, $3, $3) ON CONFLICT (id) DO NOTHING RETURNING *', [id, user, now]);
      if (!row) throw new StoreConflictError(`session "${id}" already exists`);
      return sessionFromRow(row);
    });
  }

  async touchSession(id: string, now: number): Promise<ConsoleSessionRecord> {
    requireName('session id', id);
    requireTime('now', now);
    // No generation lock: activity must not queue behind (or hold up) real changes.
    const change = await this.transaction('BEGIN', async (db) => {
      // Activity never moves backwards, even if replicas' clocks disagree a little.
      const [row] = await rows(db, 'UPDATE sessions SET last_active_at = GREATEST(last_active_at, $1) WHERE id = $2 AND ended_at IS NULL RETURNING *', [now, id]);
      if (!row) {
        const [existing] = await rows(db, 'SELECT ended_at FROM sessions WHERE id = $1', [id]);
        if (!existing) throw new StoreNotFoundError('session', id);
        throw new StoreConflictError(`session "${id}" ended at ${String(existing.ended_at)}; it can have no more activity`);
      }
      const message = { generation: await this.currentGeneration(db), sessionActivity: sessionFromRow(row) };
      await this.notify(db, message);
      return message;
    });
    this.listeners.emit(change);
    return change.sessionActivity;
  }

  async getSession(id: string): Promise<ConsoleSessionRecord | undefined> {
    requireName('session id', id);
    return this.read(async (db) => {
      const [row] = await rows(db, 'SELECT * FROM sessions WHERE id = $1', [id]);
      return row ? sessionFromRow(row) : undefined;
    });
  }

  /** Ending a session that has already ended returns it as it is, and changes nothing. */
  async endSession(id: string, now: number): Promise<ConsoleSessionRecord> {
    requireName('session id', id);
    requireTime('now', now);
    const existing = await this.getSession(id);
    if (!existing) throw new StoreNotFoundError('session', id);
    if (existing.endedAt !== undefined) return existing;
    return this.mutate(async (db) => {
      const [updated] = await rows(db, 'UPDATE sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL RETURNING *', [now, id]);
      // Ended (or deleted) by someone else since the check above.
      const row = updated ?? (await rows(db, 'SELECT * FROM sessions WHERE id = $1', [id]))[0];
      if (!row) throw new StoreNotFoundError('session', id);
      return sessionFromRow(row);
    });
  }

  async createJoinToken(token: Omit<JoinTokenRecord, 'usedAt'>): Promise<JoinTokenRecord> {
    const valid = requireJoinToken(token);
    return this.mutate(async (db) => {
      const [row] = await rows(
        db,
        'INSERT INTO join_tokens (id, cluster, secret_hash, created_at, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING *',
        [valid.id, valid.cluster, valid.secretHash, valid.createdAt, valid.createdBy, valid.expiresAt],
      );
      if (!row) throw new StoreConflictError(`join token "${valid.id}" already exists`);
      return joinTokenFromRow(row);
    });
  }

  async consumeJoinToken(id: string, secretHash: string, now: number): Promise<JoinTokenRecord> {
    requireName('join token id', id);
    requireSecretHash('join token secret hash', secretHash);
    requireTime('now', now);
    return this.mutate(async (db) => {
      // The generation lock already serializes this with every other mutation; the row lock and
      // the conditional update make the token's own check-and-set atomic whatever else changes.
      const [row] = await rows(db, 'SELECT * FROM join_tokens WHERE id = $1 FOR UPDATE', [id]);
      const reason = joinTokenRejection(row ? joinTokenFromRow(row) : undefined, secretHash, now);
      if (reason) throw new JoinTokenRejectedError(reason, id);
      const [used] = await rows(db, 'UPDATE join_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL RETURNING *', [now, id]);
      if (!used) throw new JoinTokenRejectedError('used', id);
      return joinTokenFromRow(used);
    });
  }

  async listJoinTokens(filter: { cluster?: string } = {}): Promise<JoinTokenRecord[]> {
    if (filter.cluster !== undefined) {
      const cluster = requireClusterName('cluster filter', filter.cluster);
      return this.read(async (db) => (await rows(db, 'SELECT * FROM join_tokens WHERE cluster = $1 ORDER BY created_at DESC, id', [cluster])).map(joinTokenFromRow));
    }
    return this.read(async (db) => (await rows(db, 'SELECT * FROM join_tokens ORDER BY created_at DESC, id')).map(joinTokenFromRow));
  }

  async upsertCluster(record: ClusterRecord): Promise<ClusterRecord> {
    const valid = requireCluster(record);
    return this.mutate(async (db) => clusterFromRow((await rows(db, CLUSTER_UPSERT, clusterValues(valid)))[0]!));
  }

  async getCluster(name: string): Promise<ClusterRecord | undefined> {
    requireClusterName('cluster name', name);
    return this.read(async (db) => {
      const [row] = await rows(db, 'SELECT * FROM clusters WHERE name = $1', [name]);
      return row ? clusterFromRow(row) : undefined;
    });
  }

  async listClusters(): Promise<ClusterRecord[]> {
    return this.read(async (db) => (await rows(db, 'SELECT * FROM clusters ORDER BY name')).map(clusterFromRow));
  }

  async touchCluster(name: string, lastSeenAt: number): Promise<void> {
    requireClusterName('cluster name', name);
    requireTime('lastSeenAt', lastSeenAt);
    // No generation lock: heartbeats must not queue behind (or hold up) real changes.
    const change = await this.transaction('BEGIN', async (db) => {
      // Like session activity, never moves backwards when replicas' clocks disagree a little.
      const [row] = await rows(db, 'UPDATE clusters SET last_seen_at = GREATEST(last_seen_at, $1) WHERE name = $2 RETURNING last_seen_at', [lastSeenAt, name]);
      if (!row) throw new StoreNotFoundError('cluster', name);
      const message: StoreChange = { generation: await this.currentGeneration(db), clusterSeen: { name, lastSeenAt: num(row.last_seen_at) } };
      await this.notify(db, message);
      return message;
    });
    this.listeners.emit(change);
  }

  async deleteCluster(name: string): Promise<void> {
    requireClusterName('cluster name', name);
    return this.mutate(async (db) => {
      if ((await db.query('DELETE FROM clusters WHERE name = $1', [name])).rowCount === 0) throw new StoreNotFoundError('cluster', name);
      await db.query('DELETE FROM join_tokens WHERE cluster = $1', [name]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.listener?.close();
    await this.pool.end().catch((err: unknown) => this.logger.warn('closing store pool failed', { err }));
    this.logger.debug('postgres store closed', { store: this.location });
  }

  // --- internals ---

  /**
   * Runs `fn` in a transaction that first advances (and so locks) the generation and last
   * queues the notification; after COMMIT this instance's listeners hear of it.
   */
  private async mutate<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const { result, generation } = await this.transaction('BEGIN', async (db) => {
      const [row] = await rows(db, `UPDATE meta SET value = value + 1 WHERE key = 'generation' RETURNING value`);
      const generation = num(row!.value);
      const result = await fn(db);
      await this.notify(db, { generation });
      return { result, generation };
    });
    this.listeners.emit({ generation });
    return result;
  }

  private async notify(db: Db, change: StoreChange): Promise<void> {
    const message: ChangeMessage = { origin: this.instanceId, ...change };
    await db.query('SELECT pg_notify($1, $2)', [STORE_CHANNEL, JSON.stringify(message)]);
  }

  /** A read that needs no transaction of its own. */
  private async read<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await fn(this.pool);
    } catch (err) {
      throw this.translate(err);
    }
  }

  private async transaction<T>(begin: string, fn: (db: Db) => Promise<T>): Promise<T> {
    this.assertOpen();
    return runPgTransaction(this.pool, begin, fn, (err) => this.translate(err));
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError(`PostgreSQL store ${this.location} is closed`);
  }

  private translate(err: unknown): unknown {
    if (err instanceof StoreError) return err;
    if (isConnectionError(err)) return new StoreUnavailableError(`PostgreSQL store ${this.location} is unavailable: ${describeError(err)}`, sqlState(err) ?? (err as { code?: string }).code);
    if (sqlState(err) === UNIQUE_VIOLATION) {
      return new StoreConflictError(`a record with that key already exists: ${(err as { detail?: string }).detail ?? (err as Error).message}`);
    }
    return err;
  }

  private async migrate(): Promise<void> {
    await this.transaction('BEGIN', (db) => migratePostgres(db, this.location, this.logger));
  }

  private onNotification(payload: string): void {
    let message: Partial<ChangeMessage>;
    try {
      message = JSON.parse(payload) as Partial<ChangeMessage>;
    } catch {
      this.logger.warn('ignoring a store notification that is not JSON', { payload: payload.slice(0, 200) });
      return;
    }
    if (message.origin === this.instanceId) return;
    if (typeof message.generation !== 'number') {
      this.logger.warn('ignoring a store notification without a generation', { payload: payload.slice(0, 200) });
      return;
    }
    if (message.sessionActivity) this.listeners.emit({ generation: message.generation, sessionActivity: message.sessionActivity });
    else if (message.clusterSeen) this.listeners.emit({ generation: message.generation, clusterSeen: { name: message.clusterSeen.name, lastSeenAt: message.clusterSeen.lastSeenAt } });
    else this.listeners.emit({ generation: message.generation });
  }

  private onListenerReconnect(): void {
    this.generation().then(
      (generation) => this.listeners.emit({ generation }),
      (err: unknown) => this.logger.warn('cannot read the generation after reconnecting the notification connection', { err }),
    );
  }

  private async currentGeneration(db: Db): Promise<number> {
    const [row] = await rows(db, `SELECT value FROM meta WHERE key = 'generation'`);
    return num(row!.value);
  }

  private async readUser(db: Db, name: string): Promise<UserRecord | undefined> {
    const found = await rows(db, 'SELECT * FROM users WHERE name = $1', [name]);
    if (found.length === 0) return undefined;
    return usersFromRows(found, await rows(db, 'SELECT user_name, group_name FROM user_groups WHERE user_name = $1', [name]))[0];
  }

  private async readUsers(db: Db): Promise<UserRecord[]> {
    return usersFromRows(await rows(db, 'SELECT * FROM users ORDER BY name'), await rows(db, 'SELECT user_name, group_name FROM user_groups'));
  }

  private async readPolicySet(db: Db): Promise<PolicySetRecord> {
    const [set] = await rows(db, 'SELECT * FROM policy_set WHERE id = 1');
    return policySetFromRows(set!, await rows(db, 'SELECT file_name, content FROM policy_files ORDER BY ordinal'));
  }
}

/**
 * Runs the missing migrations in the caller's transaction (`db` is inside BEGIN). Shared with
 * the audit log, which has a pool of its own and may open a database first.
 */
export async function migratePostgres(db: Pick<PoolClient, 'query'>, location: string, logger: Logger): Promise<void> {
  // Replicas starting together take turns; the second finds nothing left to do.
  await db.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
  await db.query(SCHEMA_VERSION_TABLE.postgres);
  const [row] = await rows(db, 'SELECT COALESCE(MAX(version), 0) AS v FROM schema_version');
  for (const m of migrationsAfter(num(row!.v), location)) {
    await db.query(m.sql.postgres);
    await db.query('INSERT INTO schema_version (version, description) VALUES ($1, $2)', [m.version, m.description]);
    logger.info('store schema migrated', { store: location, version: m.version });
  }
}

async function rows(db: Db, sql: string, params: unknown[] = []): Promise<Row[]> {
  return (await db.query(sql, params)).rows as Row[];
}

async function insertGroups(db: Db, user: string, groups: readonly string[]): Promise<void> {
  if (groups.length === 0) return;
  await db.query('INSERT INTO user_groups (user_name, group_name) SELECT $1, unnest($2::text[])', [user, groups]);
}
