/**
 * The incomplete-records gauge against a real SQLite audit log: it counts allowed requests
 * without a completion once they are past the grace period, stops counting them when their
 * completion arrives, and counts failed checks instead of going quiet.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openAuditLog } from '../../control-plane/audit-storage/open-audit-log';
import type { AuditLog } from '../../control-plane/audit/audit-log';
import { IncompleteMonitor } from '../../control-plane/audit/incomplete-monitor';
import { silentLogger } from '../../control-plane/log/logger';
import { T0, auditEvent, completionEvent, iso } from './audit-fixtures';

let dir: string;
let log: AuditLog;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-incomplete-monitor-'));
  log = await openAuditLog(`sqlite:${path.join(dir, 'kubegate.db')}`, { logger: silentLogger });
});

afterEach(async () => {
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('counts allowed requests past the grace period without a completion, and forgets them once completed', async () => {
  let now = T0 + 10 * 60_000;
  const monitor = new IncompleteMonitor({ audit: log, graceMs: 3 * 60_000, clock: () => now, logger: silentLogger });
  expect(await monitor.metricsText()).not.toMatch(/^kubegate_audit_incomplete_requests /m);
  await log.append([
    auditEvent({ requestId: 'old-1', time: iso(T0) }),
    auditEvent({ requestId: 'old-2', time: iso(T0 + 1000) }),
    auditEvent({ requestId: 'denied', time: iso(T0), decision: 'deny' }),
    auditEvent({ requestId: 'recent', time: iso(now - 60_000) }),
    auditEvent({ requestId: 'done', time: iso(T0) }),
    completionEvent({ requestId: 'done', time: iso(T0 + 50) }),
  ]);
  await monitor.check();
  expect(monitor.current.incomplete).toBe(2);
  expect(await monitor.metricsText()).toMatch(/^kubegate_audit_incomplete_requests 2$/m);

  await log.append([completionEvent({ requestId: 'old-1', time: iso(now) })]);
  now += 5 * 60_000; // 'recent' is now past the grace period too
  await monitor.check();
  expect(monitor.current.incomplete).toBe(2);
  await log.append([completionEvent({ requestId: 'old-2', time: iso(now) }), completionEvent({ requestId: 'recent', time: iso(now) })]);
  await monitor.check();
  expect(monitor.current.incomplete).toBe(0);
  expect(await monitor.metricsText()).toMatch(/^kubegate_audit_incomplete_check_failures_total 0$/m);
});

test('only the window counts', async () => {
  const now = T0 + 48 * 3_600_000;
  await log.append([auditEvent({ requestId: 'ancient', time: iso(T0) }), auditEvent({ requestId: 'today', time: iso(now - 3_600_000) })]);
  const monitor = new IncompleteMonitor({ audit: log, clock: () => now, logger: silentLogger });
  await monitor.check();
  expect(monitor.current.incomplete).toBe(1);
});

test('a failed check is counted and the last figure kept', async () => {
  const now = T0 + 10 * 60_000;
  await log.append([auditEvent({ requestId: 'a', time: iso(T0) })]);
  const monitor = new IncompleteMonitor({ audit: log, clock: () => now, logger: silentLogger });
  await monitor.check();
  await log.close();
  await monitor.check();
  expect(monitor.current).toMatchObject({ incomplete: 1, failedChecks: 1 });
  expect(await monitor.metricsText()).toMatch(/^kubegate_audit_incomplete_check_failures_total 1$/m);
  log = await openAuditLog(`sqlite:${path.join(dir, 'kubegate.db')}`, { logger: silentLogger });
});
