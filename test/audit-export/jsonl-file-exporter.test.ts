/**
 * The JSON Lines file export: rotation by size and age with a bounded number of rotated files,
 * and restarts (clean, and after a crash between writing and saving the position) that neither
 * lose nor repeat a line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StoredAuditEvent } from '../../control-plane/audit/audit-event';
import type { JsonlFileExporterConfig } from '../../control-plane/audit-export/audit-export-config';
import { AuditExporters } from '../../control-plane/audit-export/audit-exporters';
import { PositionFile } from '../../control-plane/audit-export/export-position';
import { createLogger, type Logger } from '../../control-plane/log/logger';
import { eventually, MemoryAuditSource } from './audit-fixtures';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-audit-jsonl-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: createLogger('test', { level: 'debug', sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }), lines };
}

function exporters(source: MemoryAuditSource, file: Partial<JsonlFileExporterConfig> = {}, extra: { logger?: Logger; now?: () => number } = {}): AuditExporters {
  return new AuditExporters({
    config: {
      stateDir: path.join(dir, 'state'),
      pollIntervalMs: 20,
      exporters: [{ type: 'jsonl-file', name: 'file', path: path.join(dir, 'out', 'audit.jsonl'), maxBatchEvents: 7, initialBackoffMs: 5, maxBackoffMs: 50, ...file }],
    },
    source,
    logger: extra.logger ?? createLogger('test', { sink: () => undefined }),
    ...(extra.now ? { now: extra.now } : {}),
  });
}

/** Rotated files oldest first (their names say which seqs they hold), then the active file. */
function exportFiles(): Array<{ name: string; range?: [number, number] }> {
  const out = path.join(dir, 'out');
  const rotated = fs
    .readdirSync(out)
    .map((name) => ({ name, m: /^audit-(\d{12})-(\d{12})\.jsonl$/.exec(name) }))
    .filter((f) => f.m)
    .map((f) => ({ name: f.name, range: [Number(f.m![1]), Number(f.m![2])] as [number, number] }))
    .sort((a, b) => a.range[0] - b.range[0]);
  return [...rotated, ...(fs.existsSync(path.join(out, 'audit.jsonl')) ? [{ name: 'audit.jsonl' }] : [])];
}

function linesOf(name: string): StoredAuditEvent[] {
  const text = fs.readFileSync(path.join(dir, 'out', name), 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l) as StoredAuditEvent);
}

function exported(): StoredAuditEvent[] {
  return exportFiles().flatMap((f) => linesOf(f.name));
}

const position = (e: AuditExporters) => e.status()[0]!.position;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('JSON Lines file export', () => {
  test('rotates by size, names rotated files after their seqs, keeps the newest maxFiles, and every line is the stored event', async () => {
    const source = new MemoryAuditSource();
    source.appendRequests(60);
    const e = exporters(source, { maxFileBytes: 3000, maxFiles: 3 });
    await e.start();
    await eventually('all 60 events are exported', () => position(e) === 60);
    await e.stop();

    const files = exportFiles();
    const rotated = files.filter((f) => f.range);
    expect(rotated).toHaveLength(3);
    for (const f of files) {
      const lines = linesOf(f.name);
      expect(fs.statSync(path.join(dir, 'out', f.name)).size).toBeLessThanOrEqual(3000);
      if (f.range) expect([lines[0]!.seq, lines[lines.length - 1]!.seq]).toEqual(f.range);
    }
    // What is kept is the newest part, contiguous up to the last event, and older files are gone.
    const seqs = exported().map((l) => l.seq);
    expect(seqs).toEqual(range(seqs[0]!, 60));
    expect(seqs[0]).toBeGreaterThan(1);
    for (const line of exported()) expect(line).toEqual(source.events[line.seq - 1]);
    expect(fs.statSync(path.join(dir, 'out', 'audit.jsonl')).mode & 0o777).toBe(0o600);
  });

  test('rotates by age before adding to a file older than maxFileAgeMs', async () => {
    let now = Date.UTC(2025, 0, 1);
    const source = new MemoryAuditSource();
    source.appendRequests(5);
    const e = exporters(source, { maxFileAgeMs: 60_000, maxFiles: 0 }, { now: () => now });
    await e.start();
    await eventually('the first five are exported', () => position(e) === 5);
    now += 59_000;
    source.appendRequests(2);
    e.notify();
    await eventually('two more are exported', () => position(e) === 7);
    expect(exportFiles().map((f) => f.name)).toEqual(['audit.jsonl']);
    now += 1_000;
    source.appendRequests(1);
    e.notify();
    await eventually('the eighth is exported', () => position(e) === 8);
    await e.stop();
    expect(exportFiles()).toEqual([{ name: 'audit-000000000001-000000000007.jsonl', range: [1, 7] }, { name: 'audit.jsonl' }]);
    expect(linesOf('audit.jsonl').map((l) => l.seq)).toEqual([8]);
  });

  test('a restart resumes after the saved position: nothing lost, nothing repeated', async () => {
    const source = new MemoryAuditSource();
    source.appendRequests(25);
    const first = exporters(source, { maxFileBytes: 4000, maxFiles: 0 });
    await first.start();
    await eventually('25 exported', () => position(first) === 25);
    await first.stop();
    const saved = new PositionFile(path.join(dir, 'state', 'file.position.json'), 'file').load();
    expect(saved).toEqual({ seq: 25, hash: source.events[24]!.hash });

    source.appendRequests(25);
    const second = exporters(source, { maxFileBytes: 4000, maxFiles: 0 });
    await second.start();
    await eventually('50 exported', () => position(second) === 50);
    await second.stop();
    expect(second.status()[0]!.eventsSent).toBe(25);
    expect(exported().map((l) => l.seq)).toEqual(range(1, 50));
  });

  test('after a crash between the append and the position save, with a torn last line, the file still holds every event once', async () => {
    const source = new MemoryAuditSource();
    source.appendRequests(20);
    const first = exporters(source, { maxFiles: 0 });
    await first.start();
    await eventually('20 exported', () => position(first) === 20);
    await first.stop();
    // What a crash leaves: the position of an earlier batch (13..20 were appended and synced,
    // their position never saved), and half a line of the next write.
    await new PositionFile(path.join(dir, 'state', 'file.position.json'), 'file').save({ seq: 12, hash: source.events[11]!.hash });
    const [next] = source.appendRequests(10);
    const torn = JSON.stringify(next).slice(0, 100);
    fs.appendFileSync(path.join(dir, 'out', 'audit.jsonl'), torn);

    const { logger, lines } = capture();
    const second = exporters(source, { maxFiles: 0 }, { logger });
    await second.start();
    await eventually('30 exported', () => position(second) === 30);
    await second.stop();
    expect(exported().map((l) => l.seq)).toEqual(range(1, 30));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: expect.stringContaining('removed an incomplete last line'), bytes: 100 }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'audit events already in the file are not written again', skipped: 7, lastInFile: 20 }));
  });

  test('events retention removed before they were exported are counted and logged as missed, and export goes on', async () => {
    const source = new MemoryAuditSource();
    source.appendRequests(10);
    source.removeUpTo(4);
    const { logger, lines } = capture();
    const e = exporters(source, {}, { logger });
    await e.start();
    await eventually('10 exported', () => position(e) === 10);
    await e.stop();
    expect(e.status()[0]).toMatchObject({ missedEvents: 4, eventsSent: 6, lag: 0 });
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', fromSeq: 1, toSeq: 4, missed: 4 }));
    expect(exported().map((l) => l.seq)).toEqual(range(5, 10));
    expect(await e.metricsText()).toContain('kubegate_audit_export_missed_events_total{exporter="file",kind="jsonl-file"} 4');
  });

  test('while the store cannot be read the exporter retries, then catches up', async () => {
    const source = new MemoryAuditSource();
    source.appendRequests(3);
    source.failWith = new Error('database is locked');
    const e = exporters(source);
    await e.start();
    await eventually('reads failed a few times', () => e.status()[0]!.sourceErrors >= 3);
    expect(position(e)).toBe(0);
    source.failWith = undefined;
    await eventually('3 exported', () => position(e) === 3);
    await e.stop();
    expect(exported().map((l) => l.seq)).toEqual([1, 2, 3]);
  });
});
