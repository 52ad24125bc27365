/**
 * Group commit: each caller waits for its own event, events arriving during a write go in the
 * next one, and a failed write fails exactly the events it carried.
 */
import type { AuditEvent } from '../../control-plane/audit/audit-event';
import { AuditWriteError, AuditWriter, type AuditAppender } from '../../control-plane/audit/audit-writer';

function event(n: number): AuditEvent {
  return {
    stage: 'decision', time: new Date(1_800_000_000_000 + n).toISOString(), requestId: `r${n}`, user: 'alice', groups: [], sourceAddress: '127.0.0.1:1', cluster: 'c',
    verb: 'get', apiGroup: '', resource: 'pods', subresource: '', namespace: 'ns', name: '', decision: 'allow', reason: 'ok', policy: 'p', breakGlassId: '',
    method: 'GET', path: '/clusters/c/api/v1/namespaces/ns/pods', userAgent: '', kubectlCommand: '', kubectlSession: '',
  };
}

/** An appender whose writes complete when the test says so, recording every batch. */
class ControlledAppender implements AuditAppender {
  readonly batches: string[][] = [];
  private pending: { resolve(): void; reject(e: Error): void }[] = [];
  append(events: readonly AuditEvent[]): Promise<void> {
    this.batches.push(events.map((e) => e.requestId));
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }
  finish(err?: Error): void {
    const p = this.pending.shift()!;
    if (err) p.reject(err);
    else p.resolve();
  }
}

/** A few turns of the event loop: the writer starts each write on one. */
const tick = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

test('an idle writer writes at once; events arriving during a write share the next one', async () => {
  const appender = new ControlledAppender();
  const writer = new AuditWriter({ appender });
  const first = writer.record(event(1));
  await tick();
  expect(appender.batches).toEqual([['r1']]);
  const later = [2, 3, 4].map((n) => writer.record(event(n)));
  await tick();
  expect(appender.batches).toHaveLength(1);
  appender.finish();
  await first;
  await tick();
  expect(appender.batches).toEqual([['r1'], ['r2', 'r3', 'r4']]);
  appender.finish();
  await Promise.all(later);
  expect(writer.stats).toEqual({ written: 4, failed: 0, batches: 2, queued: 0 });
});

test('a failed write rejects exactly its own events with AuditWriteError; the next batch goes on', async () => {
  const appender = new ControlledAppender();
  const writer = new AuditWriter({ appender });
  const a = writer.record(event(1));
  await tick();
  const b = writer.record(event(2));
  appender.finish(new Error('disk full'));
  await expect(a).rejects.toThrow(AuditWriteError);
  await expect(a).rejects.toThrow('the audit store refused 1 event(s): disk full');
  await tick();
  appender.finish();
  await expect(b).resolves.toBeUndefined();
  expect(writer.stats).toMatchObject({ written: 1, failed: 1 });
});

test('batches are capped, and a writer too far behind refuses at once instead of queueing without bound', async () => {
  const appender = new ControlledAppender();
  const writer = new AuditWriter({ appender, maxBatch: 2, maxQueued: 3 });
  const first = writer.record(event(0));
  await tick();
  const queued = [1, 2, 3].map((n) => writer.record(event(n)));
  await expect(writer.record(event(4))).rejects.toThrow('the audit store is behind by 3 events');
  appender.finish();
  await first;
  await tick();
  expect(appender.batches[1]).toEqual(['r1', 'r2']);
  appender.finish();
  await tick();
  expect(appender.batches[2]).toEqual(['r3']);
  appender.finish();
  await Promise.all(queued);
});

test('close() writes what is queued, then refuses', async () => {
  const written: string[] = [];
  const writer = new AuditWriter({ appender: { append: async (events) => void written.push(...events.map((e) => e.requestId)) } });
  const pending = [1, 2].map((n) => writer.record(event(n)));
  await writer.close();
  await Promise.all(pending);
  expect(written).toEqual(['r1', 'r2']);
  await expect(writer.record(event(3))).rejects.toThrow('the audit writer is stopped');
});

test('events recorded in the same turn of the event loop share one write, even on an idle writer', async () => {
  const appender = new ControlledAppender();
  const writer = new AuditWriter({ appender });
  const all = [1, 2, 3].map((n) => writer.record(event(n)));
  await tick();
  expect(appender.batches).toEqual([['r1', 'r2', 'r3']]);
  appender.finish();
  await Promise.all(all);
});
