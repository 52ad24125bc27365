/**
 * One running cluster per state directory. Starting a cluster wipes the etcd data directory,
 * so a second start in a directory that is in use would destroy a live cluster. The lock file
 * holds the owner's pid; a lock whose process is gone (a crash, a killed test run) is stale and
 * is taken over.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StateDirInUseError } from './errors';

const LOCK_FILE = 'local-cluster.lock';

export interface StateDirLock {
  /** Removes the lock file. Safe to call more than once. */
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockStateDir(stateDir: string): StateDirLock {
  const file = path.join(stateDir, LOCK_FILE);
  fs.mkdirSync(stateDir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      // 'wx' creates the file only if it does not exist: two starters cannot both win.
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const owner = Number.parseInt(readOrEmpty(file), 10);
      // Also refused when the owner is this process: another cluster here still runs in it.
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) throw new StateDirInUseError(stateDir, owner);
      fs.rmSync(file, { force: true });
    }
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      fs.rmSync(file, { force: true });
    },
  };
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
