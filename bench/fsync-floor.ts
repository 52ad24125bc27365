/**
 * The disk's floor for a durable write: how long appending a record-sized block and
 * fdatasync()ing it takes on the filesystem the store lives on, one at a time. No durable audit
 * write can answer faster than this, so it bounds what "written before the request goes
 * through" must add; the benchmark reports it beside the added latency it measures.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { round, summarize } from './bench-support';

export interface FsyncFloor {
  readonly dir: string;
  readonly syncs: number;
  readonly ms: { readonly p50: number; readonly p99: number; readonly max: number; readonly mean: number };
}

/** `count` appends of `bytes` each followed by fdatasync, in `dir` (a file of its own, removed after). */
export function measureFsyncFloor(dir: string, count = 1000, bytes = 1024): FsyncFloor {
  const file = path.join(dir, 'fsync-floor.bin');
  const block = Buffer.alloc(bytes, 0x61);
  const fd = fs.openSync(file, 'a');
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      fs.writeSync(fd, block);
      fs.fdatasyncSync(fd);
      times.push(performance.now() - started);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  const s = summarize(times);
  return { dir, syncs: count, ms: { p50: round(s.p50, 3), p99: round(s.p99, 3), max: round(s.max, 3), mean: round(s.mean, 3) } };
}
