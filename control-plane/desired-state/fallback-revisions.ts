/**
 * The revisions of the edge's user fallback chains, one per shard, derived from the store so
 * every replica agrees. A user whose own chain the edge does not have yet is served on their
 * shard's fallback chain, so whatever drains a user (revoked, disabled, deleted, a recorded
 * drain) must drain that chain too: its revision is a digest of what those depend on for every
 * user of the shard. A change in one shard leaves the other shards' listeners alone. Creating
 * a user changes their shard's digest too, which drains a chain that only holds connections
 * of users the edge has no chain for yet: harmless, and far simpler than remembering history.
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

/** By shard number; shards without users are left out (their revision stays the default). */
export function fallbackRevisions(store: Pick<StoreState, 'users' | 'edgeDrains'>, edge: Pick<EdgeSettings, 'userShards'>, memo: ShardMemo = new ShardMemo()): Record<string, string> {
  const shards = edgeUserShards(edge);
  const hashes = new Map<number, ReturnType<typeof createHash>>();
  const names = store.users.map((u) => u.name);
  const byName = new Map(store.users.map((u) => [u.name, u]));
  for (const name of names.sort()) {
    const u = byName.get(name)!;
    const shard = memo.shardOf(name, shards);
    let hash = hashes.get(shard);
    if (!hash) {
      hash = createHash('sha256');
      hashes.set(shard, hash);
    }
    hash.update(`${name}\n${u.credentialRevision}\n${u.disabled ? 1 : 0}\n${store.edgeDrains.users[name] ?? 0}\n`);
  }
  const revisions: Record<string, string> = {};
  for (const shard of [...hashes.keys()].sort((a, b) => a - b)) revisions[String(shard)] = hashes.get(shard)!.digest('hex').slice(0, 16);
  return revisions;
}
