/**
 * Why: the store's records of agents (join tokens and the clusters they register) as programs
 * (sql-program.ts) that run on either database, kept apart from sql-store.ts (as the
 * break-glass programs are, break-glass-programs.ts) so that file stays about users, policies,
 * certificates and sessions. The caller has validated every input.
 */
import { joinTokenRejection } from './join-token-check';
import { clusterFromRow, clusterValues, CLUSTER_COLUMNS, joinTokenFromRow, num } from './record-rows';
import { count, firstRow, type Program } from './sql-program';
import { currentGeneration } from './store-reads';
import type { ClusterRegistration } from './install-token';
import { JoinTokenRejectedError, StoreConflictError, StoreNotFoundError, type ClusterRecord, type JoinTokenRecord, type StoreChange } from './store';

// Replacing a cluster keeps its registered_at (the last column) from the first time.
const CLUSTER_UPSERT = `INSERT INTO clusters (${CLUSTER_COLUMNS.join(', ')}) VALUES (${CLUSTER_COLUMNS.map(() => '?').join(', ')})
  ON CONFLICT (name) DO UPDATE SET ${CLUSTER_COLUMNS.slice(1, -1)
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(', ')} RETURNING *`;

export function* insertJoinToken(token: Omit<JoinTokenRecord, 'usedAt'>): Program<JoinTokenRecord> {
  const row = yield* firstRow(
    'INSERT INTO join_tokens (id, cluster, secret_hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING *',
    [token.id, token.cluster, token.secretHash, token.createdAt, token.createdBy, token.expiresAt],
  );
  if (!row) throw new StoreConflictError(`join token "${token.id}" already exists`);
  return joinTokenFromRow(row);
}

/**
 * Run in a write transaction, which holds the lock from the read to the update (SQLite's write
 * lock, or PostgreSQL's generation lock and, with `forUpdate`, this row's), so of two
 * consumers, in this process or another, the second sees the token used; the conditional
 * update makes sure of it.
 */
export function* consumeJoinToken(id: string, secretHash: string, now: number, forUpdate: string): Program<JoinTokenRecord> {
  const row = yield* firstRow(`SELECT * FROM join_tokens WHERE id = ?${forUpdate}`, [id]);
  const reason = joinTokenRejection(row ? joinTokenFromRow(row) : undefined, secretHash, now);
  if (reason) throw new JoinTokenRejectedError(reason, id);
  const used = yield* firstRow('UPDATE join_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL RETURNING *', [now, id]);
  if (!used) throw new JoinTokenRejectedError('used', id);
  return joinTokenFromRow(used);
}

// A cluster the hub registers: never connected, and labelled by the hub (hub_labels).
const HUB_CLUSTER_INSERT = `INSERT INTO clusters (${CLUSTER_COLUMNS.join(', ')}, hub_labels) VALUES (${CLUSTER_COLUMNS.map(() => '?').join(', ')}, TRUE) RETURNING *`;

// What an agent's hello reports replaces what the last one did; its labels only while the hub
// has set none, and only on a registration its certificate is not older than.
const AGENT_HELLO_UPDATE = `UPDATE clusters SET labels = CASE WHEN hub_labels THEN labels ELSE ? END, kubernetes_version = ?, apiserver_ca_pem = ?,
  apiserver_host = ?, apiserver_port = ?, agent_version = ?, agent_certificate_serial = ?, last_seen_at = ? WHERE name = ? AND registered_at <= ? RETURNING *`;

export function* upsertCluster(record: ClusterRecord): Program<ClusterRecord> {
  return clusterFromRow((yield* firstRow(CLUSTER_UPSERT, clusterValues(record)))!);
}

/** Inserts a cluster the hub registers, before any agent connected; the caller made sure the name is free. */
export function* insertHubCluster(cluster: ClusterRegistration): Program<ClusterRecord> {
  const record: ClusterRecord = {
    name: cluster.name,
    labels: cluster.labels,
    kubernetesVersion: '',
    apiserverCaPem: '',
    apiserverHost: '',
    apiserverPort: 0,
    agentVersion: '',
    agentCertificateSerial: '',
    registeredAt: cluster.now,
    lastSeenAt: 0,
  };
  return clusterFromRow((yield* firstRow(HUB_CLUSTER_INSERT, clusterValues(record)))!);
}

/**
 * Registers the cluster, or sets the labels of the registered one (keeping everything else);
 * either way the labels are the hub's from now on. Run in a write transaction, so of two
 * concurrent calls for a new name one inserts and the other updates.
 */
export function* putCluster(cluster: ClusterRegistration): Program<{ cluster: ClusterRecord; created: boolean }> {
  const updated = yield* firstRow('UPDATE clusters SET labels = ?, hub_labels = TRUE WHERE name = ? RETURNING *', [JSON.stringify(cluster.labels), cluster.name]);
  if (updated) return { cluster: clusterFromRow(updated), created: false };
  return { cluster: yield* insertHubCluster(cluster), created: true };
}

/** An agent's hello for a cluster registered at or before `registeredBy`; StoreNotFoundError (rolled back) if there is none. */
export function* recordAgentHello(record: ClusterRecord, registeredBy: number): Program<ClusterRecord> {
  // The agent's columns in CLUSTER_COLUMNS order (without name and registered_at), then the WHERE's.
  const row = yield* firstRow(AGENT_HELLO_UPDATE, [...clusterValues(record).slice(1, -1), record.name, registeredBy]);
  if (!row) throw new StoreNotFoundError('cluster', record.name);
  return clusterFromRow(row);
}

/** A heartbeat; `greatest` is the dialect's GREATEST function. */
export function* touchCluster(name: string, lastSeenAt: number, greatest: string): Program<StoreChange> {
  // Like session activity, never moves backwards when replicas' clocks disagree a little.
  const row = yield* firstRow(`UPDATE clusters SET last_seen_at = ${greatest}(last_seen_at, ?) WHERE name = ? RETURNING last_seen_at`, [lastSeenAt, name]);
  if (!row) throw new StoreNotFoundError('cluster', name);
  return { generation: yield* currentGeneration(), clusterSeen: { name, lastSeenAt: num(row.last_seen_at) } };
}

export function* deleteCluster(name: string): Program<void> {
  if ((yield* count('DELETE FROM clusters WHERE name = ?', [name])) === 0) throw new StoreNotFoundError('cluster', name);
  yield* count('DELETE FROM join_tokens WHERE cluster = ?', [name]);
  yield* count('DELETE FROM install_tokens WHERE cluster = ?', [name]);
}
