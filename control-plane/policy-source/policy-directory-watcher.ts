/**
 * GitOps for policies: the control plane keeps the store's policy set equal to a directory
 * (a Git checkout kept current by git-sync, a ConfigMap volume, a release directory swapped by
 * a deployment).
 *
 * Each sync reads the whole directory (readPolicyDirectory), validates the whole set with
 * loadPolicies, and applies it only if it is valid and differs from what the store holds; then
 * it refreshes the edge, so that once a sync reports `applied` the change is in force. A bad set
 * changes nothing: the set applied before stays in force, and the errors (every error of every
 * file) are logged once and kept in `status()` until a good set replaces them. The same holds
 * for a directory that is missing, unreadable or empty: an empty policy set would refuse
 * everyone, and a mount that went wrong must not do that (to deny everything on purpose, keep a
 * file with only comments).
 *
 * Syncs are triggered by file-system events (DirectoryChangeWatch, debounced, since a checkout
 * is a burst of them) and by a polling fallback that hashes the directory's contents, for what
 * events miss: network file systems, a directory whose parent does not exist yet, a file
 * written in a folder just before its watch was set up. Syncs never overlap; a trigger during
 * one causes one more after it.
 */
import * as path from 'node:path';
import { loadPolicies, PolicyValidationError, type PolicyFile } from '../../policies/src';
import type { Logger } from '../log/logger';
import { StoreConflictError, type PolicySetRecord, type Store } from '../store/store';
import { Debouncer } from './debouncer';
import { DirectoryChangeWatch } from './directory-change-watch';
import { PolicyDirectoryError } from './policy-directory-error';
import type { PolicyDirectoryStatus } from './policy-directory-status';
import { policyFilesFingerprint } from './policy-files-fingerprint';
import { policySourceFailure, type PolicySourceFailure } from './policy-source-failure';
import { readPolicyDirectory, type IgnoredPolicyEntry } from './read-policy-directory';
import { samePolicyFiles } from './same-policy-files';
import type { SyncResult } from './sync-result';

export interface PolicyDirectoryWatcherProps {
  /** The policy directory; relative paths are resolved against the working directory. */
  readonly dir: string;
  /** Where the applied set is kept; every apply is a new revision there. */
  readonly store: Store;
  /**
   * Called after each successful apply and awaited, so that the change is in force at the edge
   * when the sync reports it (the control plane's `refresh`).
   */
  readonly refresh: () => Promise<void>;
  readonly logger: Logger;
  /** Epoch ms, for `appliedAt` and the status. @default Date.now */
  readonly clock?: () => number;
  /** Quiet time after the last file-system event before the directory is read. @default 500 */
  readonly debounceMs?: number;
  /** How often the directory is hashed in case an event was missed. @default 5000 */
  readonly pollIntervalMs?: number;
}

export class PolicyDirectoryWatcher {
  /** The watched directory, absolute. */
  readonly dir: string;
  private readonly appliedBy: string;
  private readonly clock: () => number;
  private readonly pollIntervalMs: number;
  private readonly logger: Logger;
  private readonly changes: DirectoryChangeWatch;
  private readonly debouncer: Debouncer;
  private pollTimer: NodeJS.Timeout | undefined;
  private running: Promise<SyncResult> | null = null;
  /** A sync that starts when `running` ends; later triggers join it. */
  private queued: Promise<SyncResult> | null = null;
  private started = false;
  private stopped = false;
  /** Fingerprint of what the last sync read (or of why it could not read), for polling. */
  private lastSeen: string | undefined;
  /** The last sync failed for a reason that trying again may fix (the store, the refresh). */
  private retryPending = false;
  /** A revision was applied but the edge not yet refreshed with it. */
  private refreshPending = false;
  private lastIgnored = '';
  private lastAppliedRevision: number | null = null;
  private lastAppliedAt: number | null = null;
  private lastError: PolicySourceFailure | null = null;
  private lastCheckedAt: number | null = null;

  constructor(private readonly props: PolicyDirectoryWatcherProps) {
    this.dir = path.resolve(props.dir);
    this.appliedBy = `directory:${this.dir}`;
    this.clock = props.clock ?? Date.now;
    this.pollIntervalMs = props.pollIntervalMs ?? 5000;
    this.logger = props.logger;
    this.debouncer = new Debouncer(props.debounceMs ?? 500, () => void this.syncNow());
    this.changes = new DirectoryChangeWatch({
      dir: this.dir,
      logger: this.logger,
      onChange: () => {
        if (!this.stopped) this.debouncer.trigger();
      },
    });
  }

  /** Starts watching and resolves once the initial sync is done, whatever its outcome. */
  async start(): Promise<void> {
    if (this.started) throw new Error(`the watcher of ${this.dir} was started already`);
    this.started = true;
    // Watch the parent first, so that the directory appearing during the initial sync is seen;
    // the sync itself sets up the watches of the directories it reads.
    this.changes.update();
    await this.syncNow();
    this.schedulePoll();
  }

  /** Stops watching and polling; resolves once a sync in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.debouncer.cancel();
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.changes.close();
    await Promise.all([this.running, this.queued]);
  }

  status(): PolicyDirectoryStatus {
    return {
      dir: this.dir,
      lastAppliedRevision: this.lastAppliedRevision,
      lastAppliedAt: this.lastAppliedAt,
      lastError: this.lastError,
      lastCheckedAt: this.lastCheckedAt,
    };
  }

  /**
   * Reads, validates and (if valid and changed) applies the directory now. The pass starts
   * after any pass in progress, so it sees every change made before the call. Never rejects:
   * failures are in the result and in `status()`.
   */
  syncNow(): Promise<SyncResult> {
    if (this.queued) return this.queued;
    if (!this.running) return this.run();
    const queued = this.running.then(() => {
      this.queued = null;
      return this.run();
    });
    this.queued = queued;
    return queued;
  }

  private run(): Promise<SyncResult> {
    const running = this.syncOnce()
      .catch((err: unknown) => this.fail('failed', err, this.clock()))
      .finally(() => {
        if (this.running === running) this.running = null;
      });
    this.running = running;
    return running;
  }

  /** Between start() and stop(); a watcher used only through syncNow() (the CLI) never watches. */
  private watching(): boolean {
    return this.started && !this.stopped;
  }

  private async syncOnce(): Promise<SyncResult> {
    const at = this.clock();
    this.lastCheckedAt = at;
    this.retryPending = false;
    let files: readonly PolicyFile[];
    try {
      const contents = readPolicyDirectory(this.dir);
      files = contents.files;
      if (this.watching()) this.changes.update(contents.directories);
      this.reportIgnored(contents.ignored);
    } catch (err) {
      if (this.watching()) this.changes.update();
      this.lastSeen = failureFingerprint(err);
      return this.fail('failed', err, at);
    }
    this.lastSeen = policyFilesFingerprint(files);
    if (files.length === 0) {
      return this.fail('failed', new PolicyDirectoryError(`policy directory ${this.dir} holds no policy files (*.yaml, *.yml)`), at);
    }
    let documents: number;
    try {
      documents = loadPolicies(files).length;
    } catch (err) {
      return this.fail(err instanceof PolicyValidationError ? 'invalid' : 'failed', err, at);
    }
    try {
      const result = await this.applyIfChanged(files, documents, at);
      this.succeed();
      return result;
    } catch (err) {
      this.retryPending = true;
      return this.fail('failed', err, at);
    }
  }

  /** Applies the files unless the store holds them already; one retry if someone applied in between. */
  private async applyIfChanged(files: readonly PolicyFile[], documents: number, at: number): Promise<SyncResult> {
    let current = await this.props.store.getPolicySet();
    for (let attempt = 1; ; attempt++) {
      if (samePolicyFiles(current.files, files)) {
        this.recordApplied(current);
        if (this.refreshPending) await this.refreshEdge(current.revision);
        return { outcome: 'unchanged', revision: current.revision };
      }
      try {
        const applied = await this.props.store.applyPolicySet({ files, appliedAt: at, appliedBy: this.appliedBy, expectedRevision: current.revision });
        this.recordApplied(applied);
        this.logger.info('applied the policy directory', { dir: this.dir, revision: applied.revision, files: files.length, documents });
        this.refreshPending = true;
        await this.refreshEdge(applied.revision);
        return { outcome: 'applied', revision: applied.revision, files: files.length, documents };
      } catch (err) {
        if (!(err instanceof StoreConflictError) || attempt > 1) throw err;
        this.logger.info('the policy set changed while applying the directory; trying again', { dir: this.dir, expectedRevision: current.revision });
        current = await this.props.store.getPolicySet();
      }
    }
  }

  private async refreshEdge(revision: number): Promise<void> {
    try {
      await this.props.refresh();
    } catch (err) {
      throw new Error(`policy revision ${revision} was applied, but the edge could not be refreshed: ${(err as Error).message}`);
    }
    this.refreshPending = false;
  }

  private recordApplied(set: PolicySetRecord): void {
    this.lastAppliedRevision = set.revision;
    this.lastAppliedAt = set.appliedAt;
  }

  private succeed(): void {
    if (this.lastError) {
      this.logger.info('the policy directory is in force again', { dir: this.dir, revision: this.lastAppliedRevision });
    }
    this.lastError = null;
  }

  /**
   * Keeps the failure for `status()` and logs it as one entry with every error. The same
   * failure found again (an unrelated event, a retry) is logged at debug only, and keeps the
   * time it was first found.
   */
  private fail(outcome: 'invalid' | 'failed', err: unknown, at: number): SyncResult {
    const found = policySourceFailure(err, at);
    const repeated = this.lastError !== null && this.lastError.message === found.message;
    const failure = repeated ? this.lastError! : found;
    this.lastError = failure;
    const fields = {
      dir: this.dir,
      appliedRevision: this.lastAppliedRevision,
      ...(failure.errors.length > 0 ? { errorCount: failure.errors.length } : {}),
      error: failure.message,
    };
    const msg =
      outcome === 'invalid'
        ? 'the policy directory has errors; the applied policy set stays in force'
        : 'the policy directory could not be applied; the applied policy set stays in force';
    if (repeated) this.logger.debug(msg, fields);
    else this.logger.error(msg, fields);
    return { outcome, error: failure };
  }

  private reportIgnored(ignored: readonly IgnoredPolicyEntry[]): void {
    const key = ignored.map((i) => `${i.fileName}\u0000${i.reason}`).join('\n');
    if (key !== this.lastIgnored && ignored.length > 0) {
      this.logger.warn('entries of the policy directory were not read', {
        dir: this.dir,
        ignored: ignored.map((i) => `${i.fileName}: ${i.reason}`).join('\n'),
      });
    }
    this.lastIgnored = key;
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll().finally(() => this.schedulePoll());
    }, this.pollIntervalMs);
  }

  /** Syncs when the directory's contents differ from what the last sync read, or to retry. */
  private async poll(): Promise<void> {
    if (this.stopped || this.running || this.queued) return;
    this.lastCheckedAt = this.clock();
    let seen: string;
    try {
      const contents = readPolicyDirectory(this.dir);
      this.changes.update(contents.directories);
      seen = policyFilesFingerprint(contents.files);
    } catch (err) {
      this.changes.update();
      seen = failureFingerprint(err);
    }
    if (seen !== this.lastSeen || this.retryPending) await this.syncNow();
  }
}

function failureFingerprint(err: unknown): string {
  return `error:${err instanceof Error ? err.message : String(err)}`;
}
