/**
 * Tells when the edge has accepted configuration carrying a user's filter chain, so issuing a
 * certificate can answer once the kubeconfig works on its first request. It remembers, for the
 * last few listener versions published, whose chains each carries.
 */
import type { SnapshotCache } from '../xds/snapshot-cache';
import { LISTENER_TYPE_URL } from '../xds/resource-types';
import type { EdgeConfirmation } from '../access-state/access-state';

/** Listener versions remembered; the edge acks one of the latest few. */
const LISTENER_VERSIONS_KEPT = 16;

export class EdgeConfirmations {
  private readonly chainsByVersion = new Map<string, ReadonlySet<string>>();
  private holders: ReadonlySet<string> = new Set();

  constructor(
    private readonly cache: SnapshotCache,
    private readonly nodeId: string,
  ) {}

  /** Users with a filter chain in the snapshot published last. */
  get chainHolders(): ReadonlySet<string> {
    return this.holders;
  }

  /** The listener version just published and whose chains it carries. */
  published(listenerVersion: string, holders: ReadonlySet<string>): void {
    this.holders = holders;
    this.chainsByVersion.delete(listenerVersion);
    this.chainsByVersion.set(listenerVersion, holders);
    if (this.chainsByVersion.size > LISTENER_VERSIONS_KEPT) this.chainsByVersion.delete(this.chainsByVersion.keys().next().value!);
  }

  /** Resolves once the edge runs a listener version with the user's chain (or cannot be asked). */
  async confirm(user: string, timeoutMs: number): Promise<EdgeConfirmation> {
    // Disabled meanwhile, or not known here yet: no chain to wait for.
    if (!this.holders.has(user)) return 'unconfirmed';
    // An edge that connects later receives the whole configuration before it serves.
    if ((this.cache.nodeStatus(this.nodeId)?.connectedStreams ?? 0) === 0) return 'no-edge';
    const carriesChain = (version: string) => this.chainsByVersion.get(version)?.has(user) === true;
    return (await this.cache.whenAccepted(this.nodeId, LISTENER_TYPE_URL, carriesChain, timeoutMs)) ? 'confirmed' : 'unconfirmed';
  }
}
