import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventEmitter } from 'node:events';
import type { AccessLogRecord } from './access-log-record';

/**
 * Appends one JSON object per line to a file and tells in-process listeners about each record
 * (the dev stack's tail, tests waiting for a request id).
 */
export class JsonLinesSink extends EventEmitter {
  private readonly stream: fs.WriteStream;

  constructor(readonly file: string) {
    super();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.stream = fs.createWriteStream(file, { flags: 'a' });
  }

  write(record: AccessLogRecord): void {
    this.writeBatch([record]);
  }

  /** One file write for many records: Envoy delivers access logs in batches. */
  writeBatch(records: readonly AccessLogRecord[]): void {
    if (records.length === 0) return;
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    // Listeners hear of a record only once it is in the file, so whoever reacts to the event
    // can rely on finding it there.
    this.stream.write(text, () => {
      for (const r of records) this.emit('record', r);
    });
  }

  /** Resolves with the first record (already written or future) matching the predicate. */
  waitFor(predicate: (r: AccessLogRecord) => boolean, timeoutMs = 10000): Promise<AccessLogRecord> {
    return new Promise((resolve, reject) => {
      const onRecord = (r: AccessLogRecord) => {
        if (!predicate(r)) return;
        clearTimeout(timer);
        this.off('record', onRecord);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.off('record', onRecord);
        reject(new Error(`no access-log record matched within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('record', onRecord);
      for (const line of readLines(this.file)) {
        const r = JSON.parse(line) as AccessLogRecord;
        if (predicate(r)) return onRecord(r);
      }
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
