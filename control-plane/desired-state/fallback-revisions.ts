/**
 * The revisions of the edge's user fallback chains, one per shard, derived from the store so
 * every replica agrees. A user whose own chain the edge does not have yet is served on their
 * shard's fallback chain, so whatever drains a user (revoked, disabled, deleted, a recorded
 * drain) must drain that chain too. A shard's revision is a digest of the users of the shard
 * who have lost access at some point (a credential revision, disabled, a recorded drain) and
 * of the store's count of deletions. A user who never lost access is left out: creating users
 * and issuing their first certificates, the common changes, leave every fallback chain alone.
 * A deletion leaves nothing of the user to digest, so it drains every shard's fallback chain
 * (rare, and those chains only hold connections of users the edge has no chain for yet). A
 * change in one user leaves the other shards' listeners alone.
 */
import { createHash } from 'node:crypto';
import { edgeUserShards, type EdgeSettings } from '../translator/input';
import { userShard } from '../identity/user-identity';
import type { StoreState } from '../store/store';

/** Users' shards by name and shard count: a digest each to compute, never a different answer. */
export class ShardMemo {
  private readonly shards = new Map<string, number>();

  shardOf(user: string, shards: number): number {
    const key = `${shards}/${user}`;
    let shard = this.shards.get(key);
    if (shard === undefined) {
      shard = userShard(user, shards);
      if (this.shards.size >= 200_000) this.shards.clear();
      this.shards.set(key, shard);
    }
    return shard;
  }
}

/** By shard number; shards with nothing to digest are left out (their revision stays the default). */
export function fallbackRevisions(store: Pick<StoreState, 'users' | 'edgeDrains'>, edge: Pick<EdgeSettings, 'userShards'>, memo: ShardMemo = new ShardMemo()): Record<string, string> {
  const shards = edgeUserShards(edge);
  const deletions = store.edgeDrains.userDeletions;
  const hashes = new Map<number, ReturnType<typeof createHash>>();
  const hashOf = (shard: number) => {
    let hash = hashes.get(shard);
    if (!hash) {
      hash = createHash('sha256').update(`deletions ${deletions}\n`);
      hashes.set(shard, hash);
    }
    return hash;
  };
  if (deletions > 0) for (let shard = 0; shard < shards; shard++) hashOf(shard);
  const touched = store.users.filter((u) => u.credentialRevision !== 0 || u.disabled || (store.edgeDrains.users[u.name] ?? 0) !== 0);
  for (const u of touched.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    hashOf(memo.shardOf(u.name, shards)).update(`${u.name}\n${u.credentialRevision}\n${u.disabled ? 1 : 0}\n${store.edgeDrains.users[u.name] ?? 0}\n`);
  }
  const revisions: Record<string, string> = {};
  for (const shard of [...hashes.keys()].sort((a, b) => a - b)) revisions[String(shard)] = hashes.get(shard)!.digest('hex').slice(0, 16);
  return revisions;
}
