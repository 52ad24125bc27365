/**
 * Brings the edge's file access log (edge-log-format.ts) into the audit trail. Envoy keeps
 * writing the file while the control plane is down or restarting; the ingester reads it from
 * the position it saved last, so a restart resumes where it stopped and nothing in between is
 * lost. The position is saved only after the events are durable: after a crash a few lines may
 * be read twice (at-least-once), never skipped.
 *
 * Rotation is the ingester's job, so no line is lost to it: past `rotateBytes` it renames the
 * file, asks Envoy to reopen its logs (Envoy then writes a new file), reads the renamed one to
 * its end and only then deletes it.
 */
import * as fs from 'node:fs';
import type { Logger } from '../log/logger';
import type { AuditAppender } from './audit-writer';
import type { AuditEvent } from './audit-event';
import { EdgeLogLineError, parseEdgeLogLine } from './edge-log-format';

export interface EdgeLogIngesterProps {
  /** The file Envoy writes (EdgeSettings.auditLogFile). */
  readonly file: string;
  /** Where the read position is kept. @default `${file}.position` */
  readonly positionFile?: string;
  readonly appender: AuditAppender;
  /** Asks the edge Envoy to reopen its access logs (admin POST /reopen_logs). @default no rotation */
  readonly reopen?: () => Promise<void>;
  /** Rotate past this size. @default 64 MiB */
  readonly rotateBytes?: number;
  /** How often the file is read. @default 500 */
  readonly pollMs?: number;
  /** At most this much is read per pass. @default 4 MiB */
  readonly maxReadBytes?: number;
  readonly clock: () => number;
  readonly logger: Logger;
}

/** Which file (by inode) and how far into it. */
interface Position {
  readonly inode: number;
  readonly offset: number;
}

export interface EdgeLogIngesterStats {
  readonly ingested: number;
  /** Lines that were not edge-log entries: counted and logged, never silently dropped. */
  readonly badLines: number;
  readonly rotations: number;
  /** Bytes written by Envoy and not yet ingested. */
  readonly lagBytes: number;
}

const ROTATED_SUFFIX = '.rotated';

export class EdgeLogIngester {
  private position: Position;
  private timer?: NodeJS.Timeout;
  private running: Promise<void> | undefined;
  private stopped = false;
  private ingested = 0;
  private badLines = 0;
  private rotations = 0;
  private lagBytes = 0;

  constructor(private readonly props: EdgeLogIngesterProps) {
    this.position = readPosition(this.positionFile);
  }

  private get positionFile(): string {
    return this.props.positionFile ?? `${this.props.file}.position`;
  }

  get stats(): EdgeLogIngesterStats {
    return { ingested: this.ingested, badLines: this.badLines, rotations: this.rotations, lagBytes: this.lagBytes };
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pass()
        .catch((err: Error) => this.props.logger.warn('edge access log not ingested yet; retrying', { file: this.props.file, error: err.message }))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.props.pollMs ?? 500);
        });
    };
    tick();
  }

  /** Reads everything there is now (tests, shutdown). */
  async catchUp(): Promise<void> {
    await this.running;
    for (let i = 0; i < 1000; i++) {
      const before = this.position;
      await this.pass();
      if (this.lagBytes === 0 || (before.inode === this.position.inode && before.offset === this.position.offset)) return;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: finish a rotated file first, then read the current one, then rotate if due. */
  private async pass(): Promise<void> {
    const rotated = `${this.props.file}${ROTATED_SUFFIX}`;
    const rotatedStat = statOrUndefined(rotated);
    if (rotatedStat && rotatedStat.ino === this.position.inode) {
      await this.readFrom(rotated, rotatedStat.ino, rotatedStat.size);
      if (this.position.offset >= rotatedStat.size) {
        const current = statOrUndefined(this.props.file);
        fs.rmSync(rotated, { force: true });
        this.savePosition({ inode: current?.ino ?? 0, offset: 0 });
      } else {
        return;
      }
    } else if (rotatedStat) {
      // A rotated file we had already finished (we stopped before deleting it).
      fs.rmSync(rotated, { force: true });
    }
    const current = statOrUndefined(this.props.file);
    if (!current) {
      this.lagBytes = 0;
      return;
    }
    if (current.ino !== this.position.inode) {
      if (this.position.inode !== 0) this.props.logger.warn('the edge access log was replaced by someone else; reading the new file from its start', { file: this.props.file });
      this.savePosition({ inode: current.ino, offset: 0 });
    }
    await this.readFrom(this.props.file, current.ino, current.size);
    if (this.props.reopen && current.size >= (this.props.rotateBytes ?? 64 * 1024 * 1024) && this.position.offset >= current.size) {
      fs.renameSync(this.props.file, rotated);
      await this.props.reopen();
      this.rotations += 1;
      this.props.logger.info('edge access log rotated', { file: this.props.file, bytes: current.size });
    }
  }

  /** Ingests the whole lines of `file` after the saved offset, up to maxReadBytes. */
  private async readFrom(file: string, inode: number, size: number): Promise<void> {
    const start = this.position.offset;
    this.lagBytes = Math.max(0, size - start);
    if (size <= start) return;
    const length = Math.min(size - start, this.props.maxReadBytes ?? 4 * 1024 * 1024);
    const buffer = Buffer.alloc(length);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, buffer, 0, length, start);
    } finally {
      fs.closeSync(fd);
    }
    const lastNewline = buffer.lastIndexOf(0x0a);
    // Envoy may be midway through a line: leave it for the next pass.
    if (lastNewline < 0) return;
    const text = buffer.subarray(0, lastNewline).toString('utf8');
    const now = this.props.clock();
    const events: AuditEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        events.push(parseEdgeLogLine(line, now));
      } catch (err) {
        if (!(err instanceof EdgeLogLineError)) throw err;
        this.badLines += 1;
        this.props.logger.error('edge access-log line is not an entry; skipped', { file, error: err.message });
      }
    }
    if (events.length > 0) await this.props.appender.append(events);
    this.ingested += events.length;
    this.savePosition({ inode, offset: start + lastNewline + 1 });
    this.lagBytes = Math.max(0, size - this.position.offset);
  }

  private savePosition(position: Position): void {
    this.position = position;
    const tmp = `${this.positionFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(position));
    fs.renameSync(tmp, this.positionFile);
  }
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

function readPosition(file: string): Position {
  try {
    const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Position>;
    if (Number.isInteger(p.inode) && Number.isInteger(p.offset) && p.offset! >= 0) return { inode: p.inode!, offset: p.offset! };
  } catch {
    // No position yet: start from the beginning of whatever file is there.
  }
  return { inode: 0, offset: 0 };
}
