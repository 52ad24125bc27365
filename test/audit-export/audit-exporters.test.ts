/**
 * The runner: exporters side by side on one store, each with its own position; what retention
 * may remove; and the start-up failures that must not be guessed around.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditExporters } from '../../control-plane/audit-export/audit-exporters';
import { PositionFile } from '../../control-plane/audit-export/export-position';
import { createLogger, type Logger } from '../../control-plane/log/logger';
import { auditEvent, eventually, MemoryAuditSource } from './audit-fixtures';
import { AuditSinkServer, freePort, makeSinkPki, type SinkPki } from './audit-sink-server';

let dir: string;
let pki: SinkPki;
beforeAll(() => {
  pki = makeSinkPki(fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-audit-runner-pki-')));
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-audit-runner-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
afterAll(() => fs.rmSync(pki.dir, { recursive: true, force: true }));

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: createLogger('test', { level: 'debug', sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }), lines };
}

const quiet = createLogger('test', { sink: () => undefined });

function fileExporters(source: MemoryAuditSource, logger: Logger = quiet): AuditExporters {
  return new AuditExporters({
    config: { stateDir: path.join(dir, 'state'), pollIntervalMs: 20, exporters: [{ type: 'jsonl-file', name: 'file', path: path.join(dir, 'audit.jsonl'), initialBackoffMs: 5, maxBackoffMs: 50 }] },
    source,
    logger,
  });
}

describe('AuditExporters', () => {
  test('each exporter keeps its own position: a file export goes on while a webhook sink is down, and the low-water mark waits for the slowest', async () => {
    const source = new MemoryAuditSource();
    source.appendRequests(20);
    const server = new AuditSinkServer(pki, await freePort());
    const e = new AuditExporters({
      config: {
        stateDir: path.join(dir, 'state'),
        pollIntervalMs: 20,
        exporters: [
          { type: 'jsonl-file', name: 'file', path: path.join(dir, 'audit.jsonl'), format: 'kubernetes' },
          { type: 'webhook', name: 'siem', url: server.url, caFile: pki.caFile, clientCertFile: pki.clientCertFile, clientKeyFile: pki.clientKeyFile, initialBackoffMs: 10, maxBackoffMs: 100 },
        ],
      },
      source,
      logger: quiet,
    });
    await e.start();
    try {
      await eventually('the file has all 20 and the webhook has failed a few times', () => e.status()[0]!.position === 20 && e.status()[1]!.retries >= 2);
      expect(e.status().map((s) => [s.name, s.kind, s.position, s.lag])).toEqual([
        ['file', 'jsonl-file', 20, 0],
        ['siem', 'webhook', 0, 20],
      ]);
      expect(e.lowWaterMark()).toBe(0);
      await server.listen();
      // The low-water mark follows the saved position, which a restart resumes from.
      await eventually('the webhook caught up and saved its position', () => e.lowWaterMark() === 20);
      expect(e.status()[1]!.position).toBe(20);
      expect(server.accepted.flat()).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      await e.stop();
      expect(fs.readdirSync(path.join(dir, 'state')).sort()).toEqual(['file.position.json', 'siem.position.json']);
    } finally {
      await e.stop();
      await server.close();
    }
  });

  test('a position file that cannot be read stops the start rather than exporting everything again or skipping', async () => {
    fs.mkdirSync(path.join(dir, 'state'));
    fs.writeFileSync(path.join(dir, 'state', 'file.position.json'), '{"version":1,"seq":');
    const e = fileExporters(new MemoryAuditSource());
    await expect(e.start()).rejects.toMatchObject({ code: 'ERR_AUDIT_EXPORT_POSITION', message: expect.stringContaining('is not JSON') });
    await e.stop();
  });

  test('a store whose chain does not continue from the exported position is reported, and export goes on', async () => {
    const source = new MemoryAuditSource();
    source.appendRequests(6);
    fs.mkdirSync(path.join(dir, 'state'));
    await new PositionFile(path.join(dir, 'state', 'file.position.json'), 'file').save({ seq: 3, hash: 'f'.repeat(64) });
    const { logger, lines } = capture();
    const e = fileExporters(source, logger);
    await e.start();
    await eventually('6 exported', () => e.status()[0]!.position === 6);
    await e.stop();
    expect(e.status()[0]).toMatchObject({ chainBreaks: 1, eventsSent: 3, state: 'stopped' });
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', seq: 4, exportedHash: 'f'.repeat(64), prevHash: source.events[2]!.hash }));
  });

  test('an event that cannot be converted is held and retried after the long delay, never skipped', async () => {
    const source = new MemoryAuditSource();
    source.appendRequests(3);
    source.append([auditEvent({ time: 'not a time' })]);
    source.appendRequests(2);
    const { logger, lines } = capture();
    const e = new AuditExporters({
      config: {
        stateDir: path.join(dir, 'state'),
        pollIntervalMs: 20,
        exporters: [{ type: 'jsonl-file', name: 'k8s', path: path.join(dir, 'audit.jsonl'), format: 'kubernetes', maxBatchEvents: 2, rejectedRetryDelayMs: 20 }],
      },
      source,
      logger,
    });
    await e.start();
    await eventually('the bad event was tried twice', () => e.status()[0]!.rejected >= 2);
    await e.stop();
    // The batch holding it (3..4) is not split around it: nothing after 2 goes out.
    expect(e.status()[0]).toMatchObject({ position: 2, lastError: { code: 'ERR_AUDIT_EXPORT_BAD_TIME' } });
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', code: 'ERR_AUDIT_EXPORT_BAD_TIME', fromSeq: 3, toSeq: 4, delayMs: 20 }));
  });

  test('stopped exporters do not start again', async () => {
    const e = fileExporters(new MemoryAuditSource());
    await e.start();
    await e.stop();
    await expect(e.start()).rejects.toMatchObject({ code: 'ERR_AUDIT_EXPORT_STOPPED' });
  });
});
