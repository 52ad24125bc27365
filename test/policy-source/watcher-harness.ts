/**
 * One directory watcher test's world: a temporary directory holding the policy directory and a
 * real SQLite store, a refresh() that records what the store held when it was called, the
 * watcher's log entries, and a clock the test sets. `close()` stops every watcher it made
 * before closing the store, and removes the files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../control-plane/log/logger';
import { PolicyDirectoryWatcher, type PolicyDirectoryWatcherProps } from '../../control-plane/policy-source/policy-directory-watcher';
import { openStore } from '../../control-plane/store/open-store';
import type { Store } from '../../control-plane/store/store';

export interface LogEntry {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface WatcherHarness {
  /** The temporary directory; the store's file is here, outside the policy directory. */
  readonly root: string;
  /** `<root>/policies`, not created yet. */
  readonly dir: string;
  readonly store: Store;
  /** The store's policy revision at each refresh() call, in order. */
  readonly refreshes: number[];
  /** What the next refresh() does; the default resolves. */
  refreshBehaviour: () => Promise<void>;
  readonly logs: LogEntry[];
  /** What the watcher's clock returns. */
  now: number;
  /** A watcher on `dir` with short delays (override any prop); stopped by close(). */
  watcher(props?: Partial<PolicyDirectoryWatcherProps>): PolicyDirectoryWatcher;
  /** Writes a file under `dir` (creating folders), `rel` with `/` separators. */
  write(rel: string, text: string): void;
  remove(rel: string): void;
  /** The applied set's files, by name. */
  storedFiles(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export const T0 = Date.parse('2025-06-02T09:00:00Z');

export async function openWatcherHarness(): Promise<WatcherHarness> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-policy-source-'));
  const dir = path.join(root, 'policies');
  const store = await openStore(`sqlite:${path.join(root, 'store.db')}`);
  const watchers: PolicyDirectoryWatcher[] = [];
  const logger = createLogger('policy-source', {
    level: 'debug',
    sink: (line) => harness.logs.push(JSON.parse(line) as LogEntry),
  });
  const harness: WatcherHarness = {
    root,
    dir,
    store,
    refreshes: [],
    refreshBehaviour: async () => undefined,
    logs: [],
    now: T0,
    watcher(props = {}) {
      const watcher = new PolicyDirectoryWatcher({
        dir,
        store,
        logger,
        clock: () => harness.now,
        refresh: async () => {
          harness.refreshes.push((await store.getPolicySet()).revision);
          await harness.refreshBehaviour();
        },
        debounceMs: 20,
        pollIntervalMs: 100,
        ...props,
      });
      watchers.push(watcher);
      return watcher;
    },
    write(rel, text) {
      const file = path.join(dir, ...rel.split('/'));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    },
    remove(rel) {
      fs.rmSync(path.join(dir, ...rel.split('/')), { recursive: true });
    },
    async storedFiles() {
      const set = await store.getPolicySet();
      return Object.fromEntries(set.files.map((f) => [f.fileName, f.text]));
    },
    async close() {
      for (const w of watchers) await w.stop();
      await store.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return harness;
}
