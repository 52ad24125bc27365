/**
 * An exporter's durable position: the seq (and hash) of the last event its sink acknowledged.
 * It is the whole spool: events stay in the audit store until the position passes them, so a
 * sink that is down costs disk only in the store, and a restart resumes right after it.
 *
 * Written atomically (temporary file, fsync, rename, fsync of the directory): after a crash the
 * file holds either the old position or the new one, never a torn one. The position is saved
 * after the sink acknowledged, so a crash in between repeats at most that batch (at-least-once)
 * and never skips one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ExportPosition {
  /** 0: nothing exported yet. */
  readonly seq: number;
  /** The hash of the event at seq ('' when unknown): the next event's prevHash must equal it. */
  readonly hash: string;
}

export const START_POSITION: ExportPosition = { seq: 0, hash: '' };

export class PositionFileError extends Error {
  readonly code = 'ERR_AUDIT_EXPORT_POSITION';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`audit export position ${file}: ${message}`);
    this.name = 'PositionFileError';
  }
}

interface PositionFileContent {
  readonly version: 1;
  readonly exporter: string;
  readonly seq: number;
  readonly hash: string;
  readonly savedAt: string;
}

export class PositionFile {
  constructor(
    readonly file: string,
    private readonly exporter: string,
  ) {}

  /**
   * The saved position, or the start when there is none. A file that exists but cannot be read
   * is an error, not the start: starting over would send everything again, and guessing could
   * skip events.
   */
  load(): ExportPosition {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return START_POSITION;
      throw new PositionFileError(this.file, `cannot be read: ${(err as Error).message}`);
    }
    let content: Partial<PositionFileContent>;
    try {
      content = JSON.parse(text) as Partial<PositionFileContent>;
    } catch {
      throw new PositionFileError(this.file, 'is not JSON; restore it from a backup, or delete it to export everything the store holds again');
    }
    if (content.version !== 1 || !Number.isSafeInteger(content.seq) || content.seq! < 0 || typeof content.hash !== 'string') {
      throw new PositionFileError(this.file, 'does not hold a position (version 1, seq, hash); restore it from a backup, or delete it to export everything the store holds again');
    }
    return { seq: content.seq!, hash: content.hash };
  }

  async save(position: ExportPosition, now: Date = new Date()): Promise<void> {
    const content: PositionFileContent = { version: 1, exporter: this.exporter, seq: position.seq, hash: position.hash, savedAt: now.toISOString() };
    await writeFileAtomic(this.file, JSON.stringify(content) + '\n');
  }
}

/** Replaces `file` with `text` so that a crash leaves the old or the new content, whole. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const handle = await fs.promises.open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
  await syncDirectory(dir);
}

/** Makes a rename or a new file in `dir` durable (the directory entry lives in the directory). */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
