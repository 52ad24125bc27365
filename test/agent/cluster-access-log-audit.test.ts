/**
 * What an in-cluster Envoy reports on the agent port lands in the audit trail: a real control
 * plane (agent port, SQLite store and audit log) and a real gRPC client with a cluster's
 * certificate. A request the edge let through to that cluster gets the cluster's completion,
 * with the decision's attributes; entries about any other request are not written, and the
 * control plane's /metrics counts them by reason.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AuditLog } from '../../control-plane/audit/audit-log';
import type { StoredAuditEvent } from '../../control-plane/audit/audit-event';
import { openAuditLog } from '../../control-plane/audit-storage/open-audit-log';
import { auditEvent } from '../audit/audit-fixtures';
import { startAgentPortControlPlane, type AgentPortControlPlane } from './support/agent-port-control-plane';
import { accessLogClient, clusterLogEntry, streamAccessLog, type AccessLogClient } from './support/access-log-client';

let dir: string;
let log: AuditLog;
let env: AgentPortControlPlane;
let client: AccessLogClient;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-cluster-log-'));
  log = await openAuditLog(`sqlite:${path.join(dir, 'audit.db')}`);
  env = await startAgentPortControlPlane({ audit: { appender: log, log } });
  client = accessLogClient(env.pki, env.cp.agents!.port, 'prod');
});

afterAll(async () => {
  client?.close();
  await env?.stop();
  await log?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function clusterRecords(): Promise<StoredAuditEvent[]> {
  const until = Date.now() + 10_000;
  for (;;) {
    const { events } = await log.query({ reportedBy: 'cluster' }, { order: 'asc' });
    if (events.length > 0 || Date.now() > until) return [...events];
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("the cluster's completion of a request it was sent is written with its decision's attributes; the rest are counted, not written", async () => {
  // Decided at 09:00:00.000Z; the entries say the request started then and took 7 ms.
  await log.append([
    auditEvent({ requestId: 'sent-to-prod', cluster: 'prod' }),
    auditEvent({ requestId: 'sent-to-staging', cluster: 'staging' }),
    auditEvent({ requestId: 'denied', cluster: 'prod', decision: 'deny', reason: 'kubegate: no' }),
  ]);
  const err = await streamAccessLog(client, {
    identifier: { log_name: 'prod-envoy-0' },
    http_logs: { log_entry: ['invented', 'sent-to-staging', 'denied', 'sent-to-prod'].map((id) => clusterLogEntry(id)) },
  });
  expect(err).toBeNull();

  const written = await clusterRecords();
  expect(written).toEqual([
    expect.objectContaining({
      stage: 'completion',
      requestId: 'sent-to-prod',
      reportedBy: 'cluster',
      cluster: 'prod',
      user: 'alice',
      groups: ['dev', 'oncall'],
      path: '/api/v1/namespaces/shop/pods/web-1',
      status: 200,
      bytesSent: 512,
      durationMs: 7,
      upstreamAddress: '10.96.0.1:443',
      time: '2026-01-01T09:00:00.007Z',
    }),
  ]);
  expect((await log.verify()).ok).toBe(true);

  const metrics = await env.cp.metricsText();
  expect(metrics).toContain('kubegate_audit_cluster_log_recorded_total 1');
  expect(metrics).toContain('kubegate_audit_cluster_log_rejected_total{reason="unknown-request"} 1');
  expect(metrics).toContain('kubegate_audit_cluster_log_rejected_total{reason="cluster-mismatch"} 1');
  expect(metrics).toContain('kubegate_audit_cluster_log_rejected_total{reason="denied-request"} 1');
  expect(metrics).toContain('kubegate_audit_cluster_log_dropped_total{reason="lookup-failed"} 0');
});
