/**
 * Lets one translation hand back the filter chains of the previous one for users whose chain
 * did not change.
 *
 * At ten thousand users a revocation changes one chain, yet translating builds all of them
 * again, and the snapshot then copies and hashes every one (about half a second of CPU per
 * push on the benchmark machine, most of a revocation's time at the control plane). A chain
 * depends only on the user's name and revision, the users' server-name suffix and the
 * connection manager every chain embeds, so when those are equal the previous chain object is
 * the same configuration; handing back that very object lets the snapshot recognise it
 * (xds/content-digest.ts DigestMemo) and skip copying and hashing it.
 *
 * Translation stays a function of its input: with or without a memo, and whatever the memo
 * saw before, the output is equal in content (test/translator/filter-chain-memo.test.ts).
 * The objects handed back may be frozen (a snapshot adopted them): the translator never
 * changes an object it has put into its output.
 */
export class FilterChainMemo {
  private connectionManagerText?: string;
  private sharedConnectionManager?: object;
  private chains = new Map<string, object>();
  private used = new Map<string, object>();

  /**
   * Starts a translation. The connection manager to embed in its chains: the previous translation's
   * object if equal in content, so chains built around it stay valid; otherwise `built`, and
   * every remembered chain is forgotten (they embed the old one).
   */
  connectionManager(built: object): object {
    // Called first in every translation: whatever an unfinished one (it threw) used is dropped.
    this.used = new Map();
    // The translator writes keys in a fixed order, so equal content is equal text.
    const text = JSON.stringify(built);
    if (text === this.connectionManagerText && this.sharedConnectionManager) return this.sharedConnectionManager;
    this.connectionManagerText = text;
    this.sharedConnectionManager = built;
    this.chains.clear();
    return built;
  }

  /** The chain remembered under `key` (everything the chain depends on besides the connection manager), else a new one. */
  chain(key: string, build: () => object): object {
    const chain = this.chains.get(key) ?? build();
    this.used.set(key, chain);
    return chain;
  }

  /** Ends a translation: only the chains it used are remembered (a revoked user's goes). */
  finish(): void {
    this.chains = this.used;
    this.used = new Map();
  }
}
