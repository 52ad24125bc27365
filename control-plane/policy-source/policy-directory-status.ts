/**
 * What the directory watcher last did, for the control plane's status endpoint and for tests:
 * whether the directory is in force, since when, and if not, exactly why.
 */
import type { PolicySourceFailure } from './policy-source-failure';

export interface PolicyDirectoryStatus {
  /** The watched directory, resolved against the working directory. */
  readonly dir: string;
  /**
   * The store revision that holds the directory's contents: applied by this watcher, or found
   * already applied (after a restart). Null until then.
   */
  readonly lastAppliedRevision: number | null;
  /** When that revision was applied (epoch ms), by whoever applied it. */
  readonly lastAppliedAt: number | null;
  /** Why the directory's latest contents are not in force; null once a good set applies. */
  readonly lastError: PolicySourceFailure | null;
  /** When the directory was last read (epoch ms), by a sync or by the polling fallback. */
  readonly lastCheckedAt: number | null;
}
