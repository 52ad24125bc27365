/**
 * Why: the store's install links (install-token.ts) as programs (sql-program.ts) that run on
 * either database, apart from the agents' join tokens (cluster-programs.ts) so each file keeps
 * to one kind of record. Redeeming a link makes the join token its manifest carries in the
 * same transaction, so a link either served a manifest with a working token or changed nothing.
 * The caller has validated every input.
 */
import { joinTokenRejection } from './join-token-check';
import { clusterFromRow, installTokenFromRow, joinTokenFromRow } from './record-rows';
import { firstRow, type Program } from './sql-program';
import { insertHubCluster } from './cluster-programs';
import { InstallTokenRejectedError, type ClusterRegistration, type InstallTokenRecord, type RedeemedInstallToken, type RedeemJoinToken } from './install-token';
import { StoreConflictError, StoreNotFoundError, type ClusterRecord } from './store';

const INSERT_TOKEN =
  'INSERT INTO install_tokens (id, cluster, secret_hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING *';

function* insertToken(token: Omit<InstallTokenRecord, 'usedAt'>): Program<InstallTokenRecord> {
  const row = yield* firstRow(INSERT_TOKEN, [token.id, token.cluster, token.secretHash, token.createdAt, token.createdBy, token.expiresAt]);
  if (!row) throw new StoreConflictError(`install token "${token.id}" already exists`);
  return installTokenFromRow(row);
}

/** A new cluster (never connected: no version, CA or serial yet), labelled by the hub, and its first link. */
export function* registerCluster(cluster: ClusterRegistration, token: Omit<InstallTokenRecord, 'usedAt'>): Program<{ cluster: ClusterRecord; token: InstallTokenRecord }> {
  if (yield* firstRow('SELECT name FROM clusters WHERE name = ?', [cluster.name])) throw new StoreConflictError(`cluster "${cluster.name}" is already registered`);
  const record = yield* insertHubCluster(cluster);
  return { cluster: record, token: yield* insertToken(token) };
}

export function* insertInstallToken(token: Omit<InstallTokenRecord, 'usedAt'>): Program<InstallTokenRecord> {
  if (!(yield* firstRow('SELECT name FROM clusters WHERE name = ?', [token.cluster]))) throw new StoreNotFoundError('cluster', token.cluster);
  return yield* insertToken(token);
}

/**
 * Run in a write transaction, which holds the lock from the read to the update (as
 * consumeJoinToken does), so of two requests with one link, in this process or another, the
 * second sees it used; the conditional update makes sure of it.
 */
export function* redeemInstallToken(id: string, secretHash: string, now: number, join: RedeemJoinToken, forUpdate: string): Program<RedeemedInstallToken> {
  const row = yield* firstRow(`SELECT * FROM install_tokens WHERE id = ?${forUpdate}`, [id]);
  const reason = joinTokenRejection(row ? installTokenFromRow(row) : undefined, secretHash, now);
  if (reason) throw new InstallTokenRejectedError(reason, id);
  const used = yield* firstRow('UPDATE install_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL RETURNING *', [now, id]);
  if (!used) throw new InstallTokenRejectedError('used', id);
  const installToken = installTokenFromRow(used);
  const cluster = yield* firstRow('SELECT * FROM clusters WHERE name = ?', [installToken.cluster]);
  // deleteCluster removes the links with the cluster, so this is a link that outlived it.
  if (!cluster) throw new InstallTokenRejectedError('unknown', id);
  const joinRow = yield* firstRow(
    'INSERT INTO join_tokens (id, cluster, secret_hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING *',
    [join.id, installToken.cluster, join.secretHash, now, installToken.createdBy, join.expiresAt],
  );
  if (!joinRow) throw new StoreConflictError(`join token "${join.id}" already exists`);
  return { installToken, cluster: clusterFromRow(cluster), joinToken: joinTokenFromRow(joinRow) };
}
