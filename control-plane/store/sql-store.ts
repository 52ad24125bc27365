/**
 * Why: the one implementation of the Store contract, over SQLite and PostgreSQL alike. The two
 * used to be separate classes with the same checks and the same SQL apart from placeholders;
 * now each operation is written once, as a program of statements (sql-program.ts) that an
 * engine runs on its database (sqlite-engine.ts, postgres-engine.ts), and the few real
 * dialect differences are named in sql-engine.ts.
 *
 * Every mutation runs in one write transaction that first advances the store-wide generation
 * and last announces the change to other replicas (PostgreSQL NOTIFY, delivered at COMMIT);
 * after the commit this instance's `watch` listeners hear of it, before the call resolves. A
 * throw rolls everything back, the generation included, and no listener hears of it.
 */
import * as breakGlass from './break-glass-programs';
import { ChangeListeners } from './change-listeners';
import * as clusters from './cluster-programs';
import * as install from './install-token-programs';
import type { ClusterRegistration, InstallTokenRecord, RedeemedInstallToken, RedeemJoinToken } from './install-token';
import { certificateFromRow, clusterFromRow, groupFromRow, installTokenFromRow, joinTokenFromRow, sessionFromRow } from './record-rows';
import { DIALECT_SQL, type SqlEngine } from './sql-engine';
import { count, firstRow, type Program } from './sql-program';
import { advanceGeneration, currentGeneration, mapRows, optionalRow, readBreakGlass, readPolicySet, readState, readUser, readUsers, SHARED_CHAIN_DRAIN_SCOPE, USER_DELETIONS_DRAIN_SCOPE, userDrainScope } from './store-reads';
import { StoreConflictError, StoreNotFoundError, type BreakGlassRecord, type BreakGlassState, type CertificateRecord, type ClusterRecord, type ConsoleSessionRecord, type GroupRecord, type JoinTokenRecord, type PolicyFileRecord, type PolicySetRecord, type Store, type StoreChange, type StoreState, type UserRecord } from './store';
import { normalizeGroups, requireBoolean, requireBreakGlass, requireBreakGlassState, requireCluster, requireClusterName, requireClusterRegistration, requireCount, requireInstallToken, requireJoinToken, requireName, requirePolicyFiles, requireRedeemJoinToken, requireRegistration, requireSecretHash, requireSerial, requireText, requireTime, StoreInputError } from './store-input';
import type { Logger } from '../log/logger';

/** Memberships inserted per statement: one statement for any usual user, and never near a driver's parameter limit. */
const GROUPS_PER_INSERT = 100;
/** Advances one drain counter (edge_drains), creating it at 1. */
const BUMP_DRAIN = 'INSERT INTO edge_drains (scope, revision) VALUES (?, 1) ON CONFLICT (scope) DO UPDATE SET revision = edge_drains.revision + 1';

export class SqlStore implements Store {
  /** 'sqlite' or 'postgres'. */
  readonly kind: string;
  protected readonly listeners: ChangeListeners;
  private readonly sql: (typeof DIALECT_SQL)[SqlEngine['dialect']];

  protected constructor(
    private readonly engine: SqlEngine,
    logger: Logger,
  ) {
    this.kind = engine.dialect;
    this.sql = DIALECT_SQL[engine.dialect];
    this.listeners = new ChangeListeners(logger);
  }

  async loadState(now: number): Promise<StoreState> {
    requireTime('now', now);
    return this.engine.run('snapshot', readState(now));
  }

  async generation(): Promise<number> {
    return this.engine.run('none', currentGeneration());
  }

  watch(listener: (change: StoreChange) => void): () => void {
    return this.listeners.add(listener);
  }

  async createUser(user: { name: string; groups: readonly string[]; now: number }): Promise<UserRecord> {
    const name = requireName('user name', user?.name);
    const groups = normalizeGroups(user.groups);
    const now = requireTime('now', user.now);
    return this.mutate(function* () {
      const inserted = yield* firstRow('INSERT INTO users (name, disabled, created_at, updated_at, credential_revision) VALUES (?, FALSE, ?, ?, 0) ON CONFLICT (name) DO NOTHING RETURNING name', [name, now, now]);
      if (!inserted) throw new StoreConflictError(`user "${name}" already exists`);
      yield* insertGroups(name, groups);
      return (yield* readUser(name))!;
    });
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    requireName('user name', name);
    return this.engine.run('none', readUser(name));
  }

  async listUsers(): Promise<UserRecord[]> {
    return this.engine.run('none', readUsers());
  }

  async setUserGroups(name: string, groups: readonly string[], now: number): Promise<UserRecord> {
    requireName('user name', name);
    const normalized = normalizeGroups(groups);
    requireTime('now', now);
    return this.mutate(function* () {
      if (!(yield* firstRow('UPDATE users SET updated_at = ? WHERE name = ? RETURNING name', [now, name]))) throw new StoreNotFoundError('user', name);
      yield* count('DELETE FROM user_groups WHERE user_name = ?', [name]);
      yield* insertGroups(name, normalized);
      return (yield* readUser(name))!;
    });
  }

  async setUserDisabled(name: string, disabled: boolean, now: number): Promise<UserRecord> {
    requireName('user name', name);
    requireBoolean('disabled', disabled);
    requireTime('now', now);
    return this.mutate(function* () {
      if (!(yield* firstRow('UPDATE users SET disabled = ?, updated_at = ? WHERE name = ? RETURNING name', [disabled, now, name]))) throw new StoreNotFoundError('user', name);
      return (yield* readUser(name))!;
    });
  }

  async deleteUser(name: string): Promise<void> {
    requireName('user name', name);
    // Certificates, sessions and memberships go with the user (ON DELETE CASCADE); so do their
    // drains, and the deletion count moves instead (the edge's fallback chains drain on it).
    return this.mutate(function* () {
      if ((yield* count('DELETE FROM users WHERE name = ?', [name])) === 0) throw new StoreNotFoundError('user', name);
      yield* count('DELETE FROM edge_drains WHERE scope = ?', [userDrainScope(name)]);
      yield* count(BUMP_DRAIN, [USER_DELETIONS_DRAIN_SCOPE]);
    });
  }

  async recordDrains(drains: { readonly users: readonly string[]; readonly sharedChain: boolean }): Promise<void> {
    const users = [...new Set(drains?.users ?? [])].sort();
    for (const user of users) requireName('user name', user);
    requireBoolean('sharedChain', drains?.sharedChain);
    if (users.length === 0 && !drains?.sharedChain) return;
    // Users deleted meanwhile have no chain to drain; when that is all there is, nothing is
    // written, so no replica reloads for it. (One deleted between this read and the write is
    // skipped inside the transaction.)
    const known = new Set(await this.engine.run('none', mapRows(`SELECT name FROM users WHERE name IN (${users.map(() => '?').join(', ') || "''"})`, users, (row) => String(row.name))));
    if (known.size === 0 && !drains.sharedChain) return;
    return this.mutate(function* () {
      for (const user of users) {
        if (yield* firstRow('SELECT name FROM users WHERE name = ?', [user])) yield* count(BUMP_DRAIN, [userDrainScope(user)]);
      }
      if (drains.sharedChain) yield* count(BUMP_DRAIN, [SHARED_CHAIN_DRAIN_SCOPE]);
    });
  }

  async createGroup(group: { name: string; description?: string; now: number }): Promise<GroupRecord> {
    const name = requireName('group name', group?.name);
    const description = requireText('group description', group.description ?? '');
    const now = requireTime('now', group.now);
    return this.mutate(function* () {
      const row = yield* firstRow('INSERT INTO groups (name, description, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING *', [name, description, now]);
      if (!row) throw new StoreConflictError(`group "${name}" already exists`);
      return groupFromRow(row);
    });
  }

  async listGroups(): Promise<GroupRecord[]> {
    return this.engine.run('none', mapRows('SELECT * FROM groups ORDER BY name', [], groupFromRow));
  }

  async deleteGroup(name: string, now: number): Promise<void> {
    requireName('group name', name);
    requireTime('now', now);
    return this.mutate(function* () {
      if ((yield* count('DELETE FROM groups WHERE name = ?', [name])) === 0) throw new StoreNotFoundError('group', name);
      yield* count('UPDATE users SET updated_at = ? WHERE name IN (SELECT user_name FROM user_groups WHERE group_name = ?)', [now, name]);
      yield* count('DELETE FROM user_groups WHERE group_name = ?', [name]);
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
    return this.mutate(function* () {
      if (!(yield* firstRow('SELECT 1 AS found FROM users WHERE name = ?', [user]))) throw new StoreNotFoundError('user', user);
      const inserted = yield* firstRow(
        'INSERT INTO certificates (serial, user_name, not_before, not_after, issued_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (serial) DO NOTHING RETURNING serial',
        [serial, user, notBefore, notAfter, issuedAt, revokedAt],
      );
      if (!inserted) throw new StoreConflictError(`certificate serial ${serial} is already recorded`);
    });
  }

  async listCertificates(user: string): Promise<CertificateRecord[]> {
    requireName('user name', user);
    return this.engine.run('none', mapRows('SELECT * FROM certificates WHERE user_name = ? ORDER BY issued_at, serial', [user], certificateFromRow));
  }

  async revokeUser(name: string, now: number, by: string): Promise<{ user: UserRecord; revokedCertificates: number }> {
    requireName('user name', name);
    requireTime('now', now);
    requireName('revoked by', by);
    return this.mutate(function* () {
      if (!(yield* firstRow('UPDATE users SET credential_revision = credential_revision + 1, updated_at = ? WHERE name = ? RETURNING name', [now, name]))) {
        throw new StoreNotFoundError('user', name);
      }
      const revokedCertificates = yield* count('UPDATE certificates SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL', [now, name]);
      yield* count('UPDATE sessions SET ended_at = ? WHERE user_name = ? AND ended_at IS NULL', [now, name]);
      yield* breakGlass.cancelLiveBreakGlass(name, by);
      return { user: (yield* readUser(name))!, revokedCertificates };
    });
  }

  async getPolicySet(): Promise<PolicySetRecord> {
    return this.engine.run('snapshot', readPolicySet());
  }

  async applyPolicySet(set: { files: readonly PolicyFileRecord[]; appliedAt: number; appliedBy: string; expectedRevision: number }): Promise<PolicySetRecord> {
    const files = requirePolicyFiles(set?.files);
    const appliedAt = requireTime('appliedAt', set.appliedAt);
    const appliedBy = requireName('appliedBy', set.appliedBy);
    const expected = requireCount('expectedRevision', set.expectedRevision);
    return this.mutate(function* () {
      const updated = yield* firstRow('UPDATE policy_set SET revision = revision + 1, applied_at = ?, applied_by = ? WHERE id = 1 AND revision = ? RETURNING revision', [
        appliedAt,
        appliedBy,
        expected,
      ]);
      if (!updated) {
        const current = yield* firstRow('SELECT revision FROM policy_set WHERE id = 1');
        throw new StoreConflictError(`policy set is at revision ${String(current?.revision)}, not ${expected}: someone applied in between; reload and apply again`);
      }
      yield* count('DELETE FROM policy_files');
      for (const [i, f] of files.entries()) yield* count('INSERT INTO policy_files (file_name, ordinal, content) VALUES (?, ?, ?)', [f.fileName, i, f.text]);
      return yield* readPolicySet();
    });
  }

  async createBreakGlass(record: Omit<BreakGlassRecord, 'revision'>): Promise<BreakGlassRecord> {
    const valid = requireBreakGlass(record);
    return this.mutate(() => breakGlass.insertBreakGlass(valid));
  }

  async getBreakGlass(id: string): Promise<BreakGlassRecord | undefined> {
    requireName('break-glass id', id);
    return this.engine.run('none', readBreakGlass(id));
  }

  async listBreakGlass(filter: { user?: string; states?: readonly BreakGlassState[] } = {}): Promise<BreakGlassRecord[]> {
    const user = filter.user === undefined ? undefined : requireName('user filter', filter.user);
    const states = filter.states === undefined ? undefined : filter.states.map((s, i) => requireBreakGlassState(`states[${i}]`, s));
    return this.engine.run('none', breakGlass.selectBreakGlass(user, states));
  }

  async updateBreakGlass(next: BreakGlassRecord): Promise<BreakGlassRecord> {
    const valid = requireBreakGlass(next);
    const revision = requireCount(`break-glass "${valid.id}" revision`, next.revision);
    return this.mutate(() => breakGlass.updateBreakGlass(valid, revision));
  }

  async createSession(session: { id: string; user: string; now: number }): Promise<ConsoleSessionRecord> {
    const id = requireName('session id', session?.id);
    const user = requireName('session user', session.user);
    const now = requireTime('now', session.now);
    return this.mutate(function* () {
      if (!(yield* firstRow('SELECT 1 AS found FROM users WHERE name = ?', [user]))) throw new StoreNotFoundError('user', user);
      const row = yield* firstRow('INSERT INTO sessions (id, user_name, created_at, last_active_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING *', [id, user, now, now]);
      if (!row) throw new StoreConflictError(`session "${id}" already exists`);
      return sessionFromRow(row);
    });
  }

  async touchSession(id: string, now: number): Promise<ConsoleSessionRecord> {
    requireName('session id', id);
    requireTime('now', now);
    const { greatest } = this.sql;
    const change = await this.announced(function* () {
      // Activity never moves backwards, even if replicas' clocks disagree a little.
      const row = yield* firstRow(`UPDATE sessions SET last_active_at = ${greatest}(last_active_at, ?) WHERE id = ? AND ended_at IS NULL RETURNING *`, [now, id]);
      if (!row) {
        const existing = yield* firstRow('SELECT ended_at FROM sessions WHERE id = ?', [id]);
        if (!existing) throw new StoreNotFoundError('session', id);
        throw new StoreConflictError(`session "${id}" ended at ${String(existing.ended_at)}; it can have no more activity`);
      }
      return { generation: yield* currentGeneration(), sessionActivity: sessionFromRow(row) };
    });
    return change.sessionActivity;
  }

  async getSession(id: string): Promise<ConsoleSessionRecord | undefined> {
    requireName('session id', id);
    return this.engine.run('none', optionalRow('SELECT * FROM sessions WHERE id = ?', [id], sessionFromRow));
  }

  /** Ending a session that has already ended returns it as it is, and changes nothing. */
  async endSession(id: string, now: number): Promise<ConsoleSessionRecord> {
    requireName('session id', id);
    requireTime('now', now);
    const existing = await this.getSession(id);
    if (!existing) throw new StoreNotFoundError('session', id);
    if (existing.endedAt !== undefined) return existing;
    return this.mutate(function* () {
      const updated = yield* firstRow('UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL RETURNING *', [now, id]);
      // Ended (or deleted) by someone else since the check above.
      const row = updated ?? (yield* firstRow('SELECT * FROM sessions WHERE id = ?', [id]));
      if (!row) throw new StoreNotFoundError('session', id);
      return sessionFromRow(row);
    });
  }

  async createJoinToken(token: Omit<JoinTokenRecord, 'usedAt'>): Promise<JoinTokenRecord> {
    const valid = requireJoinToken(token);
    return this.mutate(() => clusters.insertJoinToken(valid));
  }

  async consumeJoinToken(id: string, secretHash: string, now: number): Promise<JoinTokenRecord> {
    requireName('join token id', id);
    requireSecretHash('join token secret hash', secretHash);
    requireTime('now', now);
    return this.mutate(() => clusters.consumeJoinToken(id, secretHash, now, this.sql.forUpdate));
  }

  async listJoinTokens(filter: { cluster?: string } = {}): Promise<JoinTokenRecord[]> {
    const cluster = filter.cluster === undefined ? [] : [requireClusterName('cluster filter', filter.cluster)];
    return this.engine.run('none', mapRows(`SELECT * FROM join_tokens${cluster.length ? ' WHERE cluster = ?' : ''} ORDER BY created_at DESC, id`, cluster, joinTokenFromRow));
  }

  async upsertCluster(record: ClusterRecord): Promise<ClusterRecord> {
    const valid = requireCluster(record);
    return this.mutate(() => clusters.upsertCluster(valid));
  }

  async getCluster(name: string): Promise<ClusterRecord | undefined> {
    requireClusterName('cluster name', name);
    return this.engine.run('none', optionalRow('SELECT * FROM clusters WHERE name = ?', [name], clusterFromRow));
  }

  async listClusters(): Promise<ClusterRecord[]> {
    return this.engine.run('none', mapRows('SELECT * FROM clusters ORDER BY name', [], clusterFromRow));
  }

  async touchCluster(name: string, lastSeenAt: number): Promise<void> {
    requireClusterName('cluster name', name);
    requireTime('lastSeenAt', lastSeenAt);
    await this.announced(() => clusters.touchCluster(name, lastSeenAt, this.sql.greatest));
  }

  async deleteCluster(name: string): Promise<void> {
    requireClusterName('cluster name', name);
    return this.mutate(() => clusters.deleteCluster(name));
  }

  async putCluster(cluster: ClusterRegistration): Promise<{ cluster: ClusterRecord; created: boolean }> {
    const valid = requireClusterRegistration(cluster);
    return this.mutate(() => clusters.putCluster(valid));
  }

  async recordAgentHello(record: ClusterRecord, registeredBy: number): Promise<ClusterRecord> {
    const valid = requireCluster(record);
    requireTime('registeredBy', registeredBy);
    return this.mutate(() => clusters.recordAgentHello(valid, registeredBy));
  }

  async registerCluster(cluster: ClusterRegistration, token: Omit<InstallTokenRecord, 'usedAt'>): Promise<{ cluster: ClusterRecord; token: InstallTokenRecord }> {
    const [registration, valid] = requireRegistration(cluster, token);
    return this.mutate(() => install.registerCluster(registration, valid));
  }

  async createInstallToken(token: Omit<InstallTokenRecord, 'usedAt'>): Promise<InstallTokenRecord> {
    const valid = requireInstallToken(token);
    return this.mutate(() => install.insertInstallToken(valid));
  }

  async redeemInstallToken(id: string, secretHash: string, now: number, joinToken: RedeemJoinToken): Promise<RedeemedInstallToken> {
    requireName('install token id', id);
    requireSecretHash('install token secret hash', secretHash);
    const join = requireRedeemJoinToken(joinToken, requireTime('now', now));
    return this.mutate(() => install.redeemInstallToken(id, secretHash, now, join, this.sql.forUpdate));
  }

  async listInstallTokens(filter: { cluster?: string } = {}): Promise<InstallTokenRecord[]> {
    const cluster = filter.cluster === undefined ? [] : [requireClusterName('cluster filter', filter.cluster)];
    return this.engine.run('none', mapRows(`SELECT * FROM install_tokens${cluster.length ? ' WHERE cluster = ?' : ''} ORDER BY created_at DESC, id`, cluster, installTokenFromRow));
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.engine.close();
  }

  // --- internals ---

  /** Runs `body` as a mutation: the generation advances first, the change is announced last, listeners hear of it after COMMIT. */
  private async mutate<T>(body: () => Program<T>): Promise<T> {
    const { result, generation } = await this.engine.run('write', this.mutation(body));
    this.listeners.emit({ generation });
    return result;
  }

  private *mutation<T>(body: () => Program<T>): Program<{ result: T; generation: number }> {
    const generation = yield* advanceGeneration();
    const result = yield* body();
    yield* this.engine.announce({ generation });
    return { result, generation };
  }

  /**
   * Runs `body`, a change that does not advance the generation (activity, heartbeats: frequent,
   * and on PostgreSQL never queued behind the generation lock), and announces the change it
   * returns; listeners hear of it after COMMIT.
   */
  private async announced<C extends StoreChange>(body: () => Program<C>): Promise<C> {
    const change = await this.engine.run('write', this.announcement(body));
    this.listeners.emit(change);
    return change;
  }

  private *announcement<C extends StoreChange>(body: () => Program<C>): Program<C> {
    const change = yield* body();
    yield* this.engine.announce(change);
    return change;
  }
}

function* insertGroups(user: string, groups: readonly string[]): Program<void> {
  for (let i = 0; i < groups.length; i += GROUPS_PER_INSERT) {
    const chunk = groups.slice(i, i + GROUPS_PER_INSERT);
    yield* count(`INSERT INTO user_groups (user_name, group_name) VALUES ${chunk.map(() => '(?, ?)').join(', ')}`, chunk.flatMap((group) => [user, group]));
  }
}
