/**
 * Tells the directory watcher, as soon as the operating system says so, that something in the
 * policy directory may have changed. Two kinds of `fs.watch`:
 *
 * - one per directory that the last read listed (readPolicyDirectory's `directories`), each
 *   reporting changes to its entries. Not `recursive: true`: on Linux, Node 20 emulates it with
 *   one inotify watch per file and folder of the whole tree, `.git` included, which for a
 *   Git checkout costs thousands of watches (a per-user kernel limit) to learn about files that
 *   are never read. Watching what was read also follows what recursion would not: a ConfigMap's
 *   current `..data` copy and symlinked folders inside the directory;
 * - the directory's parent, for the directory's own name only: a deployment that swaps a
 *   symlink (`current -> releases/def`), deletes the directory or creates it late changes the
 *   parent, and watches bound to the old directory would never hear of it.
 *
 * Every change leads to a sync, and every sync hands the directories it read back here, so
 * the watched set follows the tree (a new folder is watched after the sync its creation
 * caused). Failing to watch is never an error: events only make a change apply sooner; the
 * watcher's polling is what guarantees it does, including in the moment between a read and the
 * watches it leads to.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../log/logger';

export interface DirectoryChangeWatchProps {
  /** Absolute path of the configured directory (it may be a symlink, and may not exist yet). */
  readonly dir: string;
  /** Called for every event; the caller debounces. */
  readonly onChange: () => void;
  readonly logger: Logger;
}

interface Armed {
  readonly watcher: fs.FSWatcher;
  /** Real path and inode when the watch was set up: a directory replaced under the same path must be watched again. */
  readonly identity: string;
}

export class DirectoryChangeWatch {
  private parent: Armed | undefined;
  /** By real path. */
  private readonly directories = new Map<string, Armed>();
  private closed = false;

  constructor(private readonly props: DirectoryChangeWatchProps) {}

  /**
   * Watches the parent, and exactly `directories` (real paths) when given; without them (the
   * read failed) the directory watches stay as they are.
   */
  update(directories?: readonly string[]): void {
    if (this.closed) return;
    const parentDir = path.dirname(this.props.dir);
    if (parentDir !== this.props.dir) {
      const name = path.basename(this.props.dir);
      this.parent = this.rearm(this.parent, parentDir, (fileName) => {
        if (fileName === null || fileName === name) this.props.onChange();
      });
    }
    if (!directories) return;
    const wanted = new Set(directories);
    for (const [dir, armed] of this.directories) {
      if (!wanted.has(dir)) {
        armed.watcher.close();
        this.directories.delete(dir);
      }
    }
    for (const dir of wanted) {
      const armed = this.rearm(this.directories.get(dir), dir, () => this.props.onChange());
      if (armed) this.directories.set(dir, armed);
      else this.directories.delete(dir);
    }
  }

  close(): void {
    this.closed = true;
    this.parent?.watcher.close();
    this.parent = undefined;
    for (const armed of this.directories.values()) armed.watcher.close();
    this.directories.clear();
  }

  /** Keeps `current` if it still watches what `target` is; else watches `target` anew. */
  private rearm(current: Armed | undefined, target: string, listener: (fileName: string | null) => void): Armed | undefined {
    const identity = identityOf(target);
    if (current && current.identity === identity) return current;
    current?.watcher.close();
    if (identity === undefined) return undefined;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(target, (_event, fileName) => listener(fileName === null ? null : fileName.toString()));
    } catch (err) {
      this.props.logger.debug('cannot watch; relying on polling', { path: target, error: (err as Error).message });
      return undefined;
    }
    const armed: Armed = { watcher, identity };
    watcher.on('error', (err: Error) => {
      // Typically the directory went away. Forget the watch, so that the next update sets up
      // a new one, and let a sync find out what is wrong.
      this.props.logger.debug('file-system watch failed', { path: target, error: err.message });
      watcher.close();
      if (this.parent === armed) this.parent = undefined;
      for (const [dir, a] of this.directories) if (a === armed) this.directories.delete(dir);
      if (!this.closed) this.props.onChange();
    });
    return armed;
  }
}

/** Real path and inode, or undefined when the path does not resolve to a directory. */
function identityOf(target: string): string | undefined {
  try {
    const real = fs.realpathSync(target);
    const stat = fs.statSync(real);
    return stat.isDirectory() ? `${real}\u0000${stat.dev}:${stat.ino}` : undefined;
  } catch {
    return undefined;
  }
}
