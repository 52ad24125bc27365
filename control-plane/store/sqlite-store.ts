/**
 * The embedded store: one SQLite file, for a single control plane.
 *
 * better-sqlite3 is synchronous; SQLite answers from the page cache in microseconds and the
 * store is never on the request path (ext_authz reads the in-memory view), so a blocking call
 * costs less than a thread hop would. The methods are still async to honour the Store contract.
 *
 * The file runs in WAL mode (readers never wait for the writer), with a busy timeout so a
 * second process on the same file (a CLI, a backup) waits for the lock instead of failing, and
 * with foreign keys enforced, which SQLite leaves off by default. Write transactions are
 * IMMEDIATE: they take the write lock at BEGIN, so two writers never both read and then
 * deadlock on upgrading to write.
 *
 * `watch` is in-process only: listeners of this instance run after its own commits.
 */
import Database from 'better-sqlite3';
import { SqliteStatements } from './sqlite-statements';
import { silentLogger, type Logger } from '../log/logger';
import { ChangeListeners } from './change-listeners';
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
  policySetFromRows,
  sessionFromRow,
  SESSION_IDLE_WINDOW_MS,
  usersFromRows,
  type Row,
} from './record-rows';
import { joinTokenRejection } from './join-token-check';
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

export interface SqliteStoreOptions {
  /** How long a statement waits for another connection's lock. @default 5000 */
  readonly busyTimeoutMs?: number;
  /** @default silentLogger */
  readonly logger?: Logger;
}

/** SQLite result codes that mean the file cannot be used, rather than that the input was bad (the audit log shares them). */
export const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|CANTOPEN|NOTADB|CORRUPT|IOERR|FULL|READONLY|PERM|AUTH|PROTOCOL)/;

const BREAK_GLASS_INSERT = `INSERT INTO break_glass (${BREAK_GLASS_COLUMNS.join(', ')}, revision)
  VALUES (${BREAK_GLASS_COLUMNS.map(() => '?').join(', ')}, 0) ON CONFLICT (id) DO NOTHING RETURNING id`;
const BREAK_GLASS_UPDATE = `UPDATE break_glass SET ${BREAK_GLASS_COLUMNS.slice(1)
  .map((c) => `${c} = ?`)
  .join(', ')}, revision = revision + 1 WHERE id = ? AND revision = ? RETURNING *`;
// Replacing a cluster keeps its registered_at (the last column) from the first time.
const CLUSTER_UPSERT = `INSERT INTO clusters (${CLUSTER_COLUMNS.join(', ')}) VALUES (${CLUSTER_COLUMNS.map(() => '?').join(', ')})
  ON CONFLICT (name) DO UPDATE SET ${CLUSTER_COLUMNS.slice(1, -1)
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')} RETURNING *`;

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly listeners: ChangeListeners;
  private readonly statements: SqliteStatements;
  private closed = false;

  /**
   * Opens (creating if needed) the database file and brings its schema up to date. Any failure
   * (missing directory, not a database, a newer schema, no permission) is a
   * StoreUnavailableError naming the file.
   */
  static async open(file: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    if (typeof file !== 'string' || file.length === 0) throw new StoreUnavailableError('SQLite store needs a file path');
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      // The busy timeout first, so that switching to WAL waits for another process's lock.
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') throw new Error(`cannot switch to WAL journal mode (still ${String(mode)})`);
      db.pragma('foreign_keys = ON');
      // With WAL, NORMAL loses at most the last transactions on power loss, never consistency.
      db.pragma('synchronous = NORMAL');
      migrate(db, file);
      return new SqliteStore(db, file, options.logger ?? silentLogger);
    } catch (err) {
      db?.close();
      if (err instanceof StoreError) throw err;
      throw new StoreUnavailableError(`cannot open SQLite store ${file}: ${(err as Error).message}`, (err as Error).stack);
    }
  }

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
    private readonly logger: Logger,
  ) {
    this.statements = new SqliteStatements(db);
    this.listeners = new ChangeListeners(logger);
  }

  async loadState(now: number): Promise<StoreState> {
    requireTime('now', now);
    return this.run(() =>
      // A read transaction: every list comes from the same snapshot as the generation.
      this.db.transaction((): StoreState => ({
        generation: this.currentGeneration(),
        users: this.readUsers(),
        groups: this.all('SELECT * FROM groups ORDER BY name').map(groupFromRow),
        revokedSerials: this.all('SELECT serial FROM certificates WHERE revoked_at IS NOT NULL AND not_after > ? ORDER BY serial', now).map((r) => String(r.serial)),
        liveCertificates: this.all('SELECT * FROM certificates WHERE revoked_at IS NULL AND not_after > ? ORDER BY user_name, serial', now).map(certificateFromRow),
        policySet: this.readPolicySet(),
        breakGlass: this.all(
          `SELECT * FROM break_glass WHERE state = 'pending' OR (state = 'active' AND expires_at > ?) ORDER BY requested_at DESC, id`,
          now,
        ).map(breakGlassFromRow),
        sessions: this.all('SELECT * FROM sessions WHERE ended_at IS NULL AND last_active_at >= ? ORDER BY id', now - SESSION_IDLE_WINDOW_MS).map(sessionFromRow),
        clusters: this.all('SELECT * FROM clusters ORDER BY name').map(clusterFromRow),
      })).deferred(),
    );
  }

  async generation(): Promise<number> {
    return this.run(() => this.currentGeneration());
  }

  watch(listener: (change: StoreChange) => void): () => void {
    return this.listeners.add(listener);
  }

  async createUser(user: { name: string; groups: readonly string[]; now: number }): Promise<UserRecord> {
    const name = requireName('user name', user?.name);
    const groups = normalizeGroups(user.groups);
    const now = requireTime('now', user.now);
    return this.mutate(() => {
      const inserted = this.get('INSERT INTO users (name, disabled, created_at, updated_at, credential_revision) VALUES (?, 0, ?, ?, 0) ON CONFLICT (name) DO NOTHING RETURNING name', name, now, now);
      if (!inserted) throw new StoreConflictError(`user "${name}" already exists`);
      this.insertGroups(name, groups);
      return this.readUser(name)!;
    });
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    requireName('user name', name);
    return this.run(() => this.readUser(name));
  }

  async listUsers(): Promise<UserRecord[]> {
    return this.run(() => this.readUsers());
  }

  async setUserGroups(name: string, groups: readonly string[], now: number): Promise<UserRecord> {
    requireName('user name', name);
    const normalized = normalizeGroups(groups);
    requireTime('now', now);
    return this.mutate(() => {
      this.touchUser(name, now);
      this.exec('DELETE FROM user_groups WHERE user_name = ?', name);
      this.insertGroups(name, normalized);
      return this.readUser(name)!;
    });
  }

  async setUserDisabled(name: string, disabled: boolean, now: number): Promise<UserRecord> {
    requireName('user name', name);
    requireBoolean('disabled', disabled);
    requireTime('now', now);
    return this.mutate(() => {
      if (!this.get('UPDATE users SET disabled = ?, updated_at = ? WHERE name = ? RETURNING name', disabled ? 1 : 0, now, name)) throw new StoreNotFoundError('user', name);
      return this.readUser(name)!;
    });
  }

  async deleteUser(name: string): Promise<void> {
    requireName('user name', name);
    // Certificates, sessions and memberships go with the user (ON DELETE CASCADE).
    return this.mutate(() => {
      if (this.exec('DELETE FROM users WHERE name = ?', name) === 0) throw new StoreNotFoundError('user', name);
    });
  }

  async createGroup(group: { name: string; description?: string; now: number }): Promise<GroupRecord> {
    const name = requireName('group name', group?.name);
    const description = requireText('group description', group.description ?? '');
    const now = requireTime('now', group.now);
    return this.mutate(() => {
      const row = this.get('INSERT INTO groups (name, description, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING *', name, description, now);
      if (!row) throw new StoreConflictError(`group "${name}" already exists`);
      return groupFromRow(row);
    });
  }

  async listGroups(): Promise<GroupRecord[]> {
    return this.run(() => this.all('SELECT * FROM groups ORDER BY name').map(groupFromRow));
  }

  async deleteGroup(name: string, now: number): Promise<void> {
    requireName('group name', name);
    requireTime('now', now);
    return this.mutate(() => {
      if (this.exec('DELETE FROM groups WHERE name = ?', name) === 0) throw new StoreNotFoundError('group', name);
      this.exec('UPDATE users SET updated_at = ? WHERE name IN (SELECT user_name FROM user_groups WHERE group_name = ?)', now, name);
      this.exec('DELETE FROM user_groups WHERE group_name = ?', name);
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
    return this.mutate(() => {
      if (!this.get('SELECT 1 AS found FROM users WHERE name = ?', user)) throw new StoreNotFoundError('user', user);
      const inserted = this.get(
        'INSERT INTO certificates (serial, user_name, not_before, not_after, issued_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (serial) DO NOTHING RETURNING serial',
        serial,
        user,
        notBefore,
        notAfter,
        issuedAt,
        revokedAt,
      );
      if (!inserted) throw new StoreConflictError(`certificate serial ${serial} is already recorded`);
    });
  }

  async listCertificates(user: string): Promise<CertificateRecord[]> {
    requireName('user name', user);
    return this.run(() => this.all('SELECT * FROM certificates WHERE user_name = ? ORDER BY issued_at, serial', user).map(certificateFromRow));
  }

  async revokeUser(name: string, now: number, by: string): Promise<{ user: UserRecord; revokedCertificates: number }> {
    requireName('user name', name);
    requireTime('now', now);
    requireName('revoked by', by);
    return this.mutate(() => {
      if (!this.get('UPDATE users SET credential_revision = credential_revision + 1, updated_at = ? WHERE name = ? RETURNING name', now, name)) {
        throw new StoreNotFoundError('user', name);
      }
      const revokedCertificates = this.exec('UPDATE certificates SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL', now, name);
      this.exec('UPDATE sessions SET ended_at = ? WHERE user_name = ? AND ended_at IS NULL', now, name);
      // The revision advances too, so an approval computed from the old record cannot
      // overwrite the cancellation.
      this.exec(
        `UPDATE break_glass SET state = 'cancelled', ended_by = ?, end_reason = 'revoked', revision = revision + 1
         WHERE user_name = ? AND state IN ('pending', 'active')`,
        by,
        name,
      );
      return { user: this.readUser(name)!, revokedCertificates };
    });
  }

  async getPolicySet(): Promise<PolicySetRecord> {
    return this.run(() => this.db.transaction(() => this.readPolicySet()).deferred());
  }

  async applyPolicySet(set: { files: readonly PolicyFileRecord[]; appliedAt: number; appliedBy: string; expectedRevision: number }): Promise<PolicySetRecord> {
    const files = requirePolicyFiles(set?.files);
    const appliedAt = requireTime('appliedAt', set.appliedAt);
    const appliedBy = requireName('appliedBy', set.appliedBy);
    const expected = requireCount('expectedRevision', set.expectedRevision);
    return this.mutate(() => {
      const updated = this.get('UPDATE policy_set SET revision = revision + 1, applied_at = ?, applied_by = ? WHERE id = 1 AND revision = ? RETURNING revision', appliedAt, appliedBy, expected);
      if (!updated) {
        const current = this.get('SELECT revision FROM policy_set WHERE id = 1')!;
        throw new StoreConflictError(`policy set is at revision ${String(current.revision)}, not ${expected}: someone applied in between; reload and apply again`);
      }
      this.exec('DELETE FROM policy_files');
      files.forEach((f, i) => this.exec('INSERT INTO policy_files (file_name, ordinal, content) VALUES (?, ?, ?)', f.fileName, i, f.text));
      return this.readPolicySet();
    });
  }

  async createBreakGlass(record: Omit<BreakGlassRecord, 'revision'>): Promise<BreakGlassRecord> {
    const valid = requireBreakGlass(record);
    return this.mutate(() => {
      if (!this.get(BREAK_GLASS_INSERT, ...breakGlassValues(valid))) throw new StoreConflictError(`break-glass request "${valid.id}" already exists`);
      return this.readBreakGlass(valid.id)!;
    });
  }

  async getBreakGlass(id: string): Promise<BreakGlassRecord | undefined> {
    requireName('break-glass id', id);
    return this.run(() => this.readBreakGlass(id));
  }

  async listBreakGlass(filter: { user?: string; states?: readonly BreakGlassState[] } = {}): Promise<BreakGlassRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.user !== undefined) {
      where.push('user_name = ?');
      params.push(requireName('user filter', filter.user));
    }
    if (filter.states !== undefined) {
      // An empty list matches nothing, as a set of states should.
      const states = filter.states.map((s, i) => requireBreakGlassState(`states[${i}]`, s));
      where.push(states.length === 0 ? '0' : `state IN (${states.map(() => '?').join(', ')})`);
      params.push(...states);
    }
    const sql = `SELECT * FROM break_glass ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, id`;
    return this.run(() => this.all(sql, ...params).map(breakGlassFromRow));
  }

  async updateBreakGlass(next: BreakGlassRecord): Promise<BreakGlassRecord> {
    const valid = requireBreakGlass(next);
    const revision = requireCount(`break-glass "${valid.id}" revision`, next.revision);
    return this.mutate(() => {
      const row = this.get(BREAK_GLASS_UPDATE, ...breakGlassValues(valid).slice(1), valid.id, revision);
      if (row) return breakGlassFromRow(row);
      const current = this.get('SELECT revision FROM break_glass WHERE id = ?', valid.id);
      if (!current) throw new StoreNotFoundError('break-glass request', valid.id);
      throw new StoreConflictError(`break-glass request "${valid.id}" is at revision ${String(current.revision)}, not ${revision}: it changed in between; reload and retry`);
    });
  }

  async createSession(session: { id: string; user: string; now: number }): Promise<ConsoleSessionRecord> {
    const id = requireName('session id', session?.id);
    const user = requireName('session user', session.user);
    const now = requireTime('now', session.now);
    return this.mutate(() => {
      if (!this.get('SELECT 1 AS found FROM users WHERE name = ?', user)) throw new StoreNotFoundError('user', user);
      const row = this.get('INSERT INTO sessions (id, user_name, created_at, last_active_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING *', id, user, now, now);
      if (!row) throw new StoreConflictError(`session "${id}" already exists`);
      return sessionFromRow(row);
    });
  }

  async touchSession(id: string, now: number): Promise<ConsoleSessionRecord> {
    requireName('session id', id);
    requireTime('now', now);
    const { session, generation } = this.run(() =>
      this.db
        .transaction(() => {
          // Activity never moves backwards, even if replicas' clocks disagree a little.
          const row = this.get('UPDATE sessions SET last_active_at = MAX(last_active_at, ?) WHERE id = ? AND ended_at IS NULL RETURNING *', now, id);
          if (!row) throw this.sessionNotOpen(id);
          return { session: sessionFromRow(row), generation: this.currentGeneration() };
        })
        .immediate(),
    );
    this.listeners.emit({ generation, sessionActivity: session });
    return session;
  }

  async getSession(id: string): Promise<ConsoleSessionRecord | undefined> {
    requireName('session id', id);
    return this.run(() => {
      const row = this.get('SELECT * FROM sessions WHERE id = ?', id);
      return row ? sessionFromRow(row) : undefined;
    });
  }

  /** Ending a session that has already ended returns it as it is, and changes nothing. */
  async endSession(id: string, now: number): Promise<ConsoleSessionRecord> {
    requireName('session id', id);
    requireTime('now', now);
    const existing = this.run(() => this.get('SELECT * FROM sessions WHERE id = ?', id));
    if (!existing) throw new StoreNotFoundError('session', id);
    if (existing.ended_at !== null) return sessionFromRow(existing);
    return this.mutate(() => {
      const row = this.get('UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL RETURNING *', now, id) ?? this.get('SELECT * FROM sessions WHERE id = ?', id);
      if (!row) throw new StoreNotFoundError('session', id);
      return sessionFromRow(row);
    });
  }

  async createJoinToken(token: Omit<JoinTokenRecord, 'usedAt'>): Promise<JoinTokenRecord> {
    const valid = requireJoinToken(token);
    return this.mutate(() => {
      const row = this.get(
        'INSERT INTO join_tokens (id, cluster, secret_hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING *',
        valid.id,
        valid.cluster,
        valid.secretHash,
        valid.createdAt,
        valid.createdBy,
        valid.expiresAt,
      );
      if (!row) throw new StoreConflictError(`join token "${valid.id}" already exists`);
      return joinTokenFromRow(row);
    });
  }

  async consumeJoinToken(id: string, secretHash: string, now: number): Promise<JoinTokenRecord> {
    requireName('join token id', id);
    requireSecretHash('join token secret hash', secretHash);
    requireTime('now', now);
    // The IMMEDIATE transaction holds the write lock from the read to the update, so of two
    // consumers (in this process or another on the same file) the second sees the token used.
    return this.mutate(() => {
      const row = this.get('SELECT * FROM join_tokens WHERE id = ?', id);
      const reason = joinTokenRejection(row ? joinTokenFromRow(row) : undefined, secretHash, now);
      if (reason) throw new JoinTokenRejectedError(reason, id);
      const used = this.get('UPDATE join_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL RETURNING *', now, id);
      if (!used) throw new JoinTokenRejectedError('used', id);
      return joinTokenFromRow(used);
    });
  }

  async listJoinTokens(filter: { cluster?: string } = {}): Promise<JoinTokenRecord[]> {
    if (filter.cluster !== undefined) {
      const cluster = requireClusterName('cluster filter', filter.cluster);
      return this.run(() => this.all('SELECT * FROM join_tokens WHERE cluster = ? ORDER BY created_at DESC, id', cluster).map(joinTokenFromRow));
    }
    return this.run(() => this.all('SELECT * FROM join_tokens ORDER BY created_at DESC, id').map(joinTokenFromRow));
  }

  async upsertCluster(record: ClusterRecord): Promise<ClusterRecord> {
    const valid = requireCluster(record);
    return this.mutate(() => clusterFromRow(this.get(CLUSTER_UPSERT, ...clusterValues(valid))!));
  }

  async getCluster(name: string): Promise<ClusterRecord | undefined> {
    requireClusterName('cluster name', name);
    return this.run(() => {
      const row = this.get('SELECT * FROM clusters WHERE name = ?', name);
      return row ? clusterFromRow(row) : undefined;
    });
  }

  async listClusters(): Promise<ClusterRecord[]> {
    return this.run(() => this.all('SELECT * FROM clusters ORDER BY name').map(clusterFromRow));
  }

  async touchCluster(name: string, lastSeenAt: number): Promise<void> {
    requireClusterName('cluster name', name);
    requireTime('lastSeenAt', lastSeenAt);
    const change = this.run(() =>
      this.db
        .transaction((): StoreChange => {
          // Like session activity, never moves backwards when replicas' clocks disagree a little.
          const row = this.get('UPDATE clusters SET last_seen_at = MAX(last_seen_at, ?) WHERE name = ? RETURNING last_seen_at', lastSeenAt, name);
          if (!row) throw new StoreNotFoundError('cluster', name);
          return { generation: this.currentGeneration(), clusterSeen: { name, lastSeenAt: Number(row.last_seen_at) } };
        })
        .immediate(),
    );
    this.listeners.emit(change);
  }

  async deleteCluster(name: string): Promise<void> {
    requireClusterName('cluster name', name);
    return this.mutate(() => {
      if (this.exec('DELETE FROM clusters WHERE name = ?', name) === 0) throw new StoreNotFoundError('cluster', name);
      this.exec('DELETE FROM join_tokens WHERE cluster = ?', name);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.statements.clear();
    this.db.close();
    this.logger.debug('sqlite store closed', { file: this.file });
  }

  // --- internals ---

  /**
   * Runs `fn` in an IMMEDIATE transaction that also advances the generation, then (after the
   * commit) tells the listeners. A throw rolls everything back, the generation included, and
   * no listener hears of it.
   */
  private mutate<T>(fn: () => T): T {
    const { result, generation } = this.run(() =>
      this.db
        .transaction(() => {
          const row = this.get(`UPDATE meta SET value = value + 1 WHERE key = 'generation' RETURNING value`)!;
          return { result: fn(), generation: Number(row.value) };
        })
        .immediate(),
    );
    this.listeners.emit({ generation });
    return result;
  }

  /** Turns driver errors into the store's: a closed store or an unusable file is unavailable. */
  private run<T>(fn: () => T): T {
    if (this.closed) throw new StoreUnavailableError(`SQLite store ${this.file} is closed`);
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) {
        throw new StoreUnavailableError(`SQLite store ${this.file} is unavailable: ${(err as Error).message}`, code);
      }
      if (typeof code === 'string' && /^SQLITE_CONSTRAINT_(PRIMARYKEY|UNIQUE)$/.test(code)) {
        throw new StoreConflictError(`a record with that key already exists: ${(err as Error).message}`);
      }
      throw err;
    }
  }

  private stmt(sql: string): Database.Statement {
    return this.statements.stmt(sql);
  }

  private get(sql: string, ...params: unknown[]): Row | undefined {
    return this.statements.get(sql, ...params);
  }

  private all(sql: string, ...params: unknown[]): Row[] {
    return this.statements.all(sql, ...params);
  }

  /** Runs a statement that returns no rows; the number of rows it changed. */
  private exec(sql: string, ...params: unknown[]): number {
    return this.stmt(sql).run(...params).changes;
  }

  private currentGeneration(): number {
    return Number(this.get(`SELECT value FROM meta WHERE key = 'generation'`)!.value);
  }

  private touchUser(name: string, now: number): void {
    if (!this.get('UPDATE users SET updated_at = ? WHERE name = ? RETURNING name', now, name)) throw new StoreNotFoundError('user', name);
  }

  private insertGroups(user: string, groups: readonly string[]): void {
    for (const group of groups) this.exec('INSERT INTO user_groups (user_name, group_name) VALUES (?, ?)', user, group);
  }

  private readUser(name: string): UserRecord | undefined {
    const row = this.get('SELECT * FROM users WHERE name = ?', name);
    if (!row) return undefined;
    return usersFromRows([row], this.all('SELECT user_name, group_name FROM user_groups WHERE user_name = ?', name))[0];
  }

  private readUsers(): UserRecord[] {
    return usersFromRows(this.all('SELECT * FROM users ORDER BY name'), this.all('SELECT user_name, group_name FROM user_groups'));
  }

  private readPolicySet(): PolicySetRecord {
    return policySetFromRows(this.get('SELECT * FROM policy_set WHERE id = 1')!, this.all('SELECT file_name, content FROM policy_files ORDER BY ordinal'));
  }

  private readBreakGlass(id: string): BreakGlassRecord | undefined {
    const row = this.get('SELECT * FROM break_glass WHERE id = ?', id);
    return row ? breakGlassFromRow(row) : undefined;
  }

  private sessionNotOpen(id: string): StoreError {
    const row = this.get('SELECT ended_at FROM sessions WHERE id = ?', id);
    if (!row) return new StoreNotFoundError('session', id);
    return new StoreConflictError(`session "${id}" ended at ${String(row.ended_at)}; it can have no more activity`);
  }
}

/** Runs the missing migrations in one IMMEDIATE transaction, so two openers cannot both run them (the audit log opens its own connection and runs them too). */
export function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    db.exec(SCHEMA_VERSION_TABLE.sqlite);
    const current = Number((db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_version').get() as Row).v);
    for (const m of migrationsAfter(current, file)) {
      db.exec(m.sql.sqlite);
      db.prepare('INSERT INTO schema_version (version, description) VALUES (?, ?)').run(m.version, m.description);
    }
  }).immediate();
}
