/**
 * Test data for the exporters: real StoredAuditEvent values, numbered and hash-chained the way
 * the store keeps them, and an in-memory AuditSource holding them.
 */
import * as crypto from 'node:crypto';
import type { AuditEvent, StoredAuditEvent } from '../../control-plane/audit/audit-event';
import type { AuditSource } from '../../control-plane/audit-export/audit-source';

export function auditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    stage: 'decision',
    time: '2025-03-04T05:06:07.089Z',
    requestId: '6f1c2a43-8d0e-4c55-9a1b-2f6e7d8c9b01',
    user: 'alice',
    groups: ['dev', 'kubegate:users'],
    sourceAddress: '10.1.2.3:52344',
    cluster: 'prod-eu',
    verb: 'get',
    apiGroup: 'apps',
    resource: 'deployments',
    subresource: '',
    namespace: 'shop',
    name: 'web',
    decision: 'allow',
    reason: 'allowed by AccessPolicy dev-read',
    policy: 'dev-read',
    breakGlassId: '',
    method: 'GET',
    path: '/clusters/prod-eu/apis/apps/v1/namespaces/shop/deployments/web',
    userAgent: 'kubectl/v1.34.4 (linux/amd64) kubernetes/abcdef0',
    kubectlCommand: 'kubectl get',
    kubectlSession: '0f6a3c2e-5b8d-4e1f-9a7c-1d2e3f4a5b6c',
    ...overrides,
  };
}

/** Chains `events` after `prev` (seq and hash of the event before; 0 and '' at the start). */
export function chain(events: readonly AuditEvent[], prev: { seq: number; hash: string } = { seq: 0, hash: '' }): StoredAuditEvent[] {
  const out: StoredAuditEvent[] = [];
  let { seq, hash } = prev;
  for (const event of events) {
    seq += 1;
    const next = crypto.createHash('sha256').update(hash).update(JSON.stringify(event)).digest('hex');
    out.push({ ...event, seq, prevHash: hash, hash: next });
    hash = next;
  }
  return out;
}

/** A varied request: every fifth a denial, some watches with progress, completions with bytes. */
export function requestEvent(i: number): AuditEvent {
  const time = new Date(Date.UTC(2025, 2, 4, 5, 0, 0) + i * 37).toISOString();
  const requestId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  if (i % 5 === 0) {
    return auditEvent({ time, requestId, verb: 'delete', resource: 'pods', apiGroup: '', name: `p${i}`, path: `/clusters/prod-eu/api/v1/namespaces/shop/pods/p${i}`, method: 'DELETE', decision: 'deny', reason: 'kubegate: alice may not delete pods in prod-eu', policy: '', status: 403 });
  }
  if (i % 3 === 0) {
    return auditEvent({ time, requestId, stage: 'completion', status: 200, bytesReceived: 0, bytesSent: 1200 + i, durationMs: 4.25, upstreamAddress: '10.9.0.1:6443', responseFlags: [] });
  }
  return auditEvent({ time, requestId });
}

/** The audit store as exporters see it, in memory: append, and remove from the start (retention). */
export class MemoryAuditSource implements AuditSource {
  readonly events: StoredAuditEvent[] = [];
  reads = 0;
  private head: { seq: number; hash: string } = { seq: 0, hash: '' };
  /** While set, reads fail with it (the store down). */
  failWith: Error | undefined;

  appendRequests(count: number): StoredAuditEvent[] {
    const start = this.head.seq;
    return this.append(Array.from({ length: count }, (_, k) => requestEvent(start + k + 1)));
  }

  append(events: readonly AuditEvent[]): StoredAuditEvent[] {
    const added = chain(events, this.head);
    this.events.push(...added);
    if (added.length > 0) this.head = { seq: added[added.length - 1]!.seq, hash: added[added.length - 1]!.hash };
    return added;
  }

  /** Retention: drops every event with seq <= upTo. */
  removeUpTo(upTo: number): void {
    while (this.events.length > 0 && this.events[0]!.seq <= upTo) this.events.shift();
  }

  async readFrom(afterSeq: number, limit: number): Promise<readonly StoredAuditEvent[]> {
    this.reads += 1;
    if (this.failWith) throw this.failWith;
    return this.events.filter((e) => e.seq > afterSeq).slice(0, limit);
  }

  async lastSeq(): Promise<number> {
    if (this.failWith) throw this.failWith;
    return this.head.seq;
  }
}

/** Polls `condition` until it holds; fails with `what` after a generous time. */
export async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
