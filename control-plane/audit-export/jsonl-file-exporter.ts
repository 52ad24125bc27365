/**
 * Audit events as JSON Lines in a file, rotated by size (and optionally age), keeping the newest
 * rotated files. Each batch is appended and synced before the exporter saves its position.
 *
 * The file tells where it ends, so a restart neither loses nor repeats a line: at start the sink
 * cuts off an incomplete last line (a crash mid-write) and reads the seq of the last complete
 * one (or, when the active file is empty, from the newest rotated file's name), and skips
 * events it already holds. A crash between the append and the position save therefore costs
 * nothing here: the position file alone would give at-least-once, the file gives exactly-once.
 * A failed append (disk full) is cut back to where it started, so a retry never leaves a torn
 * or doubled line.
 *
 * Rotated files are named after the seqs they hold (`audit-000000000001-000000004210.jsonl`
 * for `audit.jsonl`): an auditor sees which file covers what, and the names never collide.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StoredAuditEvent } from '../audit/audit-event';
import type { Logger } from '../log/logger';
import type { ResolvedJsonlFileExporterConfig } from './audit-export-config';
import { type AuditSink, DeliveryError } from './audit-sink';
import { syncDirectory } from './export-position';
import { ANNOTATIONS, toKubernetesAuditEvent } from './kubernetes-audit-event';
import { AuditTimeError } from './micro-time';

export interface JsonlFileExporterProps {
  readonly config: ResolvedJsonlFileExporterConfig;
  readonly logger: Logger;
  /** The clock for age-based rotation. @default Date.now */
  readonly now?: () => number;
}

/** A rotated file and the seqs it holds. */
export interface RotatedFile {
  readonly file: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

const SEQ_DIGITS = 12;
const READ_CHUNK = 64 * 1024;

export class JsonlFileExporter implements AuditSink {
  readonly kind = 'jsonl-file' as const;
  readonly target: string;
  private readonly dir: string;
  private readonly stem: string;
  private readonly ext: string;
  private readonly rotatedName: RegExp;
  /** The seq of the last line the files hold; undefined until the files were looked at. */
  private lastWrittenSeq: number | undefined;
  /** When the active file got its first line (for age-based rotation). */
  private activeSince: number | undefined;
  private readonly now: () => number;

  constructor(private readonly props: JsonlFileExporterProps) {
    this.target = props.config.path;
    this.dir = path.dirname(props.config.path);
    this.ext = path.extname(props.config.path);
    this.stem = path.basename(props.config.path, this.ext);
    this.rotatedName = new RegExp(`^${escapeRegExp(this.stem)}-(\\d+)-(\\d+)(?:-(\\d+))?${escapeRegExp(this.ext)}$`);
    this.now = props.now ?? Date.now;
  }

  batchLength(events: readonly StoredAuditEvent[]): number {
    return events.length;
  }

  async deliver(batch: readonly StoredAuditEvent[], signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new DeliveryError('transient', 'ERR_AUDIT_EXPORT_ABORTED', 'the exporter is stopping');
    try {
      if (this.lastWrittenSeq === undefined) await this.recover();
      await this.write(batch);
    } catch (err) {
      // An event that cannot be converted fails the same way every time: the worker holds it
      // and retries after the long delay (it knows the code), so it is passed on unchanged.
      if (err instanceof DeliveryError || err instanceof AuditTimeError) throw err;
      // Look at the file again before the retry: it decides what is already there.
      this.lastWrittenSeq = undefined;
      throw new DeliveryError('transient', (err as NodeJS.ErrnoException).code ?? 'ERR_AUDIT_EXPORT_FILE', `writing ${this.target}: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    // Nothing stays open between batches: each append opens the file, so a file moved away by
    // hand is simply created again.
  }

  /** The rotated files, oldest first. */
  rotatedFiles(): RotatedFile[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: Array<RotatedFile & { n: number }> = [];
    for (const name of names) {
      const m = this.rotatedName.exec(name);
      if (m) out.push({ file: path.join(this.dir, name), firstSeq: Number(m[1]), lastSeq: Number(m[2]), n: Number(m[3] ?? 0) });
    }
    out.sort((a, b) => a.firstSeq - b.firstSeq || a.lastSeq - b.lastSeq || a.n - b.n);
    return out.map(({ file, firstSeq, lastSeq }) => ({ file, firstSeq, lastSeq }));
  }

  private async write(batch: readonly StoredAuditEvent[]): Promise<void> {
    const already = this.lastWrittenSeq ?? 0;
    const fresh = batch.filter((e) => e.seq > already);
    if (fresh.length < batch.length) {
      this.props.logger.info('audit events already in the file are not written again', { file: this.target, skipped: batch.length - fresh.length, lastInFile: already });
    }
    const { maxFileBytes } = this.props.config;
    let size = sizeOf(this.target);
    if (size === 0) this.activeSince = undefined;
    let chunk: string[] = [];
    let chunkBytes = 0;
    let chunkLast = 0;
    for (const event of fresh) {
      const line = this.line(event);
      const bytes = Buffer.byteLength(line);
      const filled = size + chunkBytes;
      if (filled > 0 && (filled + bytes > maxFileBytes || this.tooOld())) {
        await this.append(chunk, chunkLast);
        chunk = [];
        chunkBytes = 0;
        await this.rotate();
        size = 0;
      }
      chunk.push(line);
      chunkBytes += bytes;
      chunkLast = event.seq;
      this.activeSince ??= this.now();
    }
    await this.append(chunk, chunkLast);
  }

  private line(event: StoredAuditEvent): string {
    const record = this.props.config.format === 'kubernetes' ? toKubernetesAuditEvent(event, { withTypeMeta: true }) : event;
    return JSON.stringify(record) + '\n';
  }

  private tooOld(): boolean {
    const maxAge = this.props.config.maxFileAgeMs;
    return maxAge > 0 && this.activeSince !== undefined && this.now() - this.activeSince >= maxAge;
  }

  /** Appends whole lines and syncs them; on failure cuts the file back to where it was. */
  private async append(lines: readonly string[], lastSeq: number): Promise<void> {
    if (lines.length === 0) return;
    const handle = await fs.promises.open(this.target, 'a', 0o600);
    let created = false;
    try {
      const before = (await handle.stat()).size;
      created = before === 0;
      try {
        await handle.writeFile(lines.join(''));
        await handle.sync();
      } catch (err) {
        await handle.truncate(before).catch(() => undefined);
        throw err;
      }
    } finally {
      await handle.close();
    }
    // A new file's directory entry must be durable too, or a crash could lose the whole file.
    if (created) await syncDirectory(this.dir);
    this.lastWrittenSeq = lastSeq;
  }

  private async rotate(): Promise<void> {
    const firstSeq = (await this.seqOfFirstLine()) ?? 0;
    const lastSeq = this.lastWrittenSeq ?? 0;
    const base = `${this.stem}-${pad(firstSeq)}-${pad(lastSeq)}`;
    let target = path.join(this.dir, base + this.ext);
    // Only a store whose seqs started over (replaced) could name a range twice; keep both.
    for (let n = 1; fs.existsSync(target); n++) target = path.join(this.dir, `${base}-${n}${this.ext}`);
    await fs.promises.rename(this.target, target);
    await syncDirectory(this.dir);
    this.activeSince = undefined;
    this.props.logger.info('audit file rotated', { file: this.target, rotatedTo: target, firstSeq, lastSeq });
    await this.prune();
  }

  private async prune(): Promise<void> {
    const keep = this.props.config.maxFiles;
    if (keep === 0) return;
    const rotated = this.rotatedFiles();
    for (const old of rotated.slice(0, Math.max(0, rotated.length - keep))) {
      await fs.promises.rm(old.file, { force: true });
      this.props.logger.info('old rotated audit file removed', { file: old.file, firstSeq: old.firstSeq, lastSeq: old.lastSeq, keep });
    }
  }

  /**
   * Finds what the files already hold: cuts an incomplete last line off the active file and
   * takes the seq of its last complete line, or of the newest rotated file when it is empty.
   */
  private async recover(): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    let last = 0;
    for (const rotated of this.rotatedFiles()) last = Math.max(last, rotated.lastSeq);
    this.activeSince = undefined;
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.target, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.lastWrittenSeq = last;
      return;
    }
    try {
      const stat = await handle.stat();
      const tail = await readTail(handle, stat.size);
      if (tail.incompleteBytes > 0) {
        await handle.truncate(stat.size - tail.incompleteBytes);
        await handle.sync();
        this.props.logger.warn('removed an incomplete last line from the audit file (a write was interrupted); its events are written again', {
          file: this.target,
          bytes: tail.incompleteBytes,
        });
      }
      if (tail.lastLine !== undefined) {
        const seq = seqOfLine(tail.lastLine);
        if (seq === undefined) this.props.logger.warn('the last line of the audit file holds no kubegate seq; relying on the saved position', { file: this.target });
        else last = Math.max(last, seq);
        this.activeSince = stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs;
      }
    } finally {
      await handle.close();
    }
    this.lastWrittenSeq = last;
  }

  private async seqOfFirstLine(): Promise<number | undefined> {
    const handle = await fs.promises.open(this.target, 'r');
    try {
      let text = '';
      for (let offset = 0; ; offset += READ_CHUNK) {
        const buf = Buffer.alloc(READ_CHUNK);
        const { bytesRead } = await handle.read(buf, 0, READ_CHUNK, offset);
        text += buf.subarray(0, bytesRead).toString('utf8');
        const end = text.indexOf('\n');
        if (end >= 0) return seqOfLine(text.slice(0, end));
        if (bytesRead < READ_CHUNK) return seqOfLine(text);
      }
    } finally {
      await handle.close();
    }
  }
}

/** The seq a line carries: a kubegate event's own, or a Kubernetes event's annotation. */
export function seqOfLine(line: string): number | undefined {
  try {
    const record = JSON.parse(line) as { seq?: unknown; annotations?: Record<string, unknown> };
    const seq = typeof record.seq === 'number' ? record.seq : Number(record.annotations?.[ANNOTATIONS.seq]);
    return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The last complete line of a file (without its newline) and how many bytes follow it without
 * a newline; reads backwards only as far as it must.
 */
async function readTail(handle: fs.promises.FileHandle, size: number): Promise<{ lastLine?: string; incompleteBytes: number }> {
  let start = size;
  let tail = Buffer.alloc(0);
  for (;;) {
    // The newline that ends the last complete line, and the one before it (its start).
    const lineEnd = tail.lastIndexOf(0x0a);
    if (lineEnd >= 0) {
      const previous = lineEnd === 0 ? -1 : tail.lastIndexOf(0x0a, lineEnd - 1);
      if (previous >= 0 || start === 0) {
        return { lastLine: tail.subarray(previous + 1, lineEnd).toString('utf8'), incompleteBytes: tail.length - lineEnd - 1 };
      }
    } else if (start === 0) {
      return { incompleteBytes: tail.length };
    }
    const from = Math.max(0, start - READ_CHUNK);
    const buf = Buffer.alloc(start - from);
    await handle.read(buf, 0, buf.length, from);
    tail = Buffer.concat([buf, tail]);
    start = from;
  }
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function pad(seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, '0');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
