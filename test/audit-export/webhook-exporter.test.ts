/**
 * Webhook export to a real HTTPS receiver on 127.0.0.1 (mutual TLS, bearer token): through an
 * outage (connection refused, then 503), a lost acknowledgement, a refused batch and restarts,
 * every event arrives, in order, in whole batches, and the only repeats are the batches whose
 * acknowledgement was lost: exactly the at-least-once allowance.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WebhookExporterConfig } from '../../control-plane/audit-export/audit-export-config';
import { AuditExporters } from '../../control-plane/audit-export/audit-exporters';
import { PositionFile } from '../../control-plane/audit-export/export-position';
import { createLogger, type Logger } from '../../control-plane/log/logger';
import { eventually, MemoryAuditSource } from './audit-fixtures';
import { AuditSinkServer, freePort, makeSinkPki, type SinkPki } from './audit-sink-server';

let dir: string;
let pki: SinkPki;
let tokenFile: string;
const servers: AuditSinkServer[] = [];
const running: AuditExporters[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-audit-webhook-'));
  pki = makeSinkPki(dir);
  tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, 's3cret-token\n', { mode: 0o600 });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function sinkServer(): Promise<AuditSinkServer> {
  const server = new AuditSinkServer(pki, await freePort());
  servers.push(server);
  return server;
}

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: createLogger('test', { level: 'debug', sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }), lines };
}

function exporters(source: MemoryAuditSource, stateDir: string, url: string, webhook: Partial<WebhookExporterConfig> = {}, logger?: Logger): AuditExporters {
  const e = new AuditExporters({
    config: {
      stateDir,
      pollIntervalMs: 20,
      exporters: [
        {
          type: 'webhook',
          name: 'siem',
          url,
          caFile: pki.caFile,
          clientCertFile: pki.clientCertFile,
          clientKeyFile: pki.clientKeyFile,
          bearerTokenFile: tokenFile,
          maxBatchEvents: 7,
          initialBackoffMs: 10,
          maxBackoffMs: 100,
          rejectedRetryDelayMs: 200,
          requestTimeoutMs: 10_000,
          ...webhook,
        },
      ],
    },
    source,
    logger: logger ?? createLogger('test', { sink: () => undefined }),
  });
  running.push(e);
  return e;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const status = (e: AuditExporters) => e.status()[0]!;

/** Every request carried whole, ascending, gapless batches of at most `max` events. */
function expectWholeBatches(server: AuditSinkServer, max: number): void {
  expect(server.unexpected).toEqual([]);
  for (const r of server.requests) {
    expect(r.seqs.length).toBeGreaterThan(0);
    expect(r.seqs.length).toBeLessThanOrEqual(max);
    expect(r.seqs).toEqual(range(r.seqs[0]!, r.seqs[0]! + r.seqs.length - 1));
  }
}

describe('webhook export', () => {
  test('survives a sink that refuses connections, then answers 503, then loses one answer: all events arrive in order; only that batch repeats', async () => {
    const stateDir = path.join(dir, 'outage-state');
    const source = new MemoryAuditSource();
    source.appendRequests(50);
    const server = await sinkServer();
    const e = exporters(source, stateDir, server.url);
    await e.start();

    // Down: nothing listens on the port.
    await eventually('connection refused a few times', () => status(e).retries >= 3);
    expect(status(e).lastError?.message).toContain('ECONNREFUSED');
    expect(status(e)).toMatchObject({ position: 0, eventsSent: 0, lag: 50, headSeq: 50 });

    // Up but unavailable: the first batch is offered again and again, unchanged.
    server.mode = 'unavailable';
    await server.listen();
    await eventually('three 503 answers', () => server.requests.filter((r) => r.answered === 503).length >= 3);
    expect(status(e).position).toBe(0);

    // The sink takes the batch but the answer never arrives: the exporter cannot know, so it
    // sends that batch again. Then the sink works.
    server.mode = 'lose-answer-once';
    await eventually('all 50 acknowledged', () => status(e).position === 50);

    const offered = server.requests.map((r) => r.seqs);
    const firstAccepted = server.requests.findIndex((r) => r.answered === 'lost');
    // Every attempt before the lost answer offered exactly the first batch.
    for (const seqs of offered.slice(0, firstAccepted + 1)) expect(seqs).toEqual(range(1, 7));
    expect(server.requests.slice(0, firstAccepted).every((r) => r.answered === 503)).toBe(true);
    // Accepted: the first batch twice (its answer was lost), then everything else once, in order.
    expect(server.accepted.flat()).toEqual([...range(1, 7), ...range(1, 50)]);
    expect(server.accepted[0]).toEqual(server.accepted[1]);
    expectWholeBatches(server, 7);
    expect(server.requests.every((r) => r.authorization === 'Bearer s3cret-token')).toBe(true);
    expect(status(e)).toMatchObject({ eventsSent: 50, lag: 0, rejected: 0, missedEvents: 0, chainBreaks: 0, consecutiveFailures: 0 });
    expect(status(e).retries).toBeGreaterThanOrEqual(3 + 3 + 1);
    expect(await e.metricsText()).toContain('kubegate_audit_export_events_total{exporter="siem",kind="webhook"} 50');
    expect(await e.metricsText()).toContain('kubegate_audit_export_lag_events{exporter="siem",kind="webhook"} 0');

    // New events while running are picked up when the store says so.
    source.appendRequests(5);
    e.notify();
    await eventually('55 acknowledged', () => status(e).position === 55);
    expect(server.accepted.flat()).toEqual([...range(1, 7), ...range(1, 55)]);
  });

  test('a restart resumes after the acknowledged position and sends nothing twice; a crash before the position save repeats exactly the unsaved batch', async () => {
    const stateDir = path.join(dir, 'restart-state');
    const source = new MemoryAuditSource();
    source.appendRequests(20);
    const server = await sinkServer();
    await server.listen();
    const first = exporters(source, stateDir, server.url);
    await first.start();
    await eventually('20 acknowledged', () => status(first).position === 20);
    await first.stop();
    expect(server.accepted).toEqual([range(1, 7), range(8, 14), range(15, 20)]);

    // Clean restart: only what is new.
    source.appendRequests(10);
    const second = exporters(source, stateDir, server.url);
    await second.start();
    await eventually('30 acknowledged', () => status(second).position === 30);
    await second.stop();
    expect(server.accepted.slice(3)).toEqual([range(21, 27), range(28, 30)]);

    // A crash after the sink acknowledged 28..30 but before the position was saved leaves the
    // position at 27: those three, and only those, go again.
    const positionFile = new PositionFile(path.join(stateDir, 'siem.position.json'), 'siem');
    expect(positionFile.load()).toEqual({ seq: 30, hash: source.events[29]!.hash });
    await positionFile.save({ seq: 27, hash: source.events[26]!.hash });
    const third = exporters(source, stateDir, server.url);
    await third.start();
    await eventually('30 acknowledged again', () => status(third).position === 30);
    await third.stop();
    expect(server.accepted.slice(5)).toEqual([range(28, 30)]);
    expect(server.accepted.flat()).toEqual([...range(1, 30), ...range(28, 30)]);
    expectWholeBatches(server, 7);
  });

  test('a refused batch (400) is logged with the answer and sent again after the longer delay, never dropped; 429 is a busy sink', async () => {
    const stateDir = path.join(dir, 'reject-state');
    const source = new MemoryAuditSource();
    source.appendRequests(10);
    const server = await sinkServer();
    server.mode = 'reject-once';
    await server.listen();
    const { logger, lines } = capture();
    const e = exporters(source, stateDir, server.url, {}, logger);
    await e.start();
    await eventually('10 acknowledged', () => status(e).position === 10);
    expect(server.requests.map((r) => [r.answered, r.seqs])).toEqual([
      [400, range(1, 7)],
      [200, range(1, 7)],
      [200, range(8, 10)],
    ]);
    expect(status(e)).toMatchObject({ rejected: 1, retries: 1, eventsSent: 10 });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        code: 'ERR_AUDIT_EXPORT_SINK_REJECTED',
        status: 400,
        body: 'bad audit event: annotations too large',
        fromSeq: 1,
        toSeq: 7,
        delayMs: 200,
      }),
    );

    server.mode = 'busy';
    source.appendRequests(3);
    e.notify();
    await eventually('429 answered twice', () => server.requests.filter((r) => r.answered === 429).length >= 2);
    expect(status(e).rejected).toBe(1);
    server.mode = 'ok';
    await eventually('13 acknowledged', () => status(e).position === 13);
    expect(server.accepted.flat()).toEqual(range(1, 13));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', code: 'ERR_AUDIT_EXPORT_SINK_UNAVAILABLE', status: 429 }));
  });

  test('batches stay under maxBatchBytes (a batch is cut by size, never split afterwards)', async () => {
    const source = new MemoryAuditSource();
    source.appendRequests(30);
    const server = await sinkServer();
    await server.listen();
    const e = exporters(source, path.join(dir, 'bytes-state'), server.url, { maxBatchEvents: 100, maxBatchBytes: 5000 });
    await e.start();
    await eventually('30 acknowledged', () => status(e).position === 30);
    expect(server.requests.length).toBeGreaterThan(3);
    for (const r of server.requests) expect(r.bytes).toBeLessThanOrEqual(5000);
    expect(server.accepted.flat()).toEqual(range(1, 30));
    expectWholeBatches(server, 100);
  });

  test("the sink's certificate is verified: a server the configured CA did not sign gets no event", async () => {
    const source = new MemoryAuditSource();
    source.appendRequests(3);
    const server = await sinkServer();
    await server.listen();
    const e = exporters(source, path.join(dir, 'untrusted-state'), server.url, { caFile: pki.otherCaFile });
    await e.start();
    await eventually('TLS failed a few times', () => status(e).retries >= 2);
    expect(status(e).lastError?.code).toBe('ERR_AUDIT_EXPORT_SINK_UNREACHABLE');
    expect(status(e).lastError?.message).toMatch(/certificate|self.signed|verify/i);
    expect(server.requests).toEqual([]);
    expect(status(e).position).toBe(0);
  });
});
