/**
 * kubegate's audit.k8s.io/v1 output against the schema Kubernetes publishes: the real audit
 * types of k8s.io/apiserver at the pinned Kubernetes version, through toolchain/audit-decode
 * (built by toolchain/install.sh). It decodes strictly (an unknown, duplicated or mistyped
 * field fails), converts to the internal types and back, and re-encodes; the round trip must
 * give back exactly what kubegate wrote.
 *
 * Without the decoder this suite fails (loadToolchain says to run toolchain/install.sh): a
 * skipped schema check would look like a passing one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StoredAuditEvent } from '../../control-plane/audit/audit-event';
import { JsonlFileExporter } from '../../control-plane/audit-export/jsonl-file-exporter';
import { toKubernetesAuditEvent, toKubernetesAuditEventList } from '../../control-plane/audit-export/kubernetes-audit-event';
import { silentLogger } from '../../control-plane/log/logger';
import { loadToolchain, pinnedVersions } from '../../dev/toolchain/tools';
import { runCommand } from '../support/run-command';
import { auditEvent, chain, requestEvent } from './audit-fixtures';

let decoder: string;

beforeAll(() => {
  decoder = loadToolchain().auditDecode;
});

function decode(input: unknown) {
  return runCommand(decoder, [], { input: typeof input === 'string' ? input : JSON.stringify(input) });
}

/** Every shape of event kubegate records, and text that needs escaping. */
function variedEvents(): StoredAuditEvent[] {
  return chain([
    ...Array.from({ length: 30 }, (_, i) => requestEvent(i + 1)),
    auditEvent({ requestId: 'r-exec', verb: 'create', apiGroup: '', resource: 'pods', subresource: 'exec', name: 'web-0', path: '/clusters/prod-eu/api/v1/namespaces/shop/pods/web-0/exec?command=sh&stdin=true&tty=true', method: 'POST', breakGlassId: 'bg-42', policy: 'incident-break-glass', reason: 'allowed by BreakGlassPolicy incident-break-glass (grant bg-42)' }),
    auditEvent({ requestId: 'r-exec', stage: 'progress', verb: 'create', apiGroup: '', resource: 'pods', subresource: 'exec', name: 'web-0', status: 101, upgrade: 'websocket', durationMs: 60000, bytesSent: 42, bytesReceived: 7, time: '2025-03-04T05:07:07.089Z' }),
    auditEvent({ requestId: 'r-nonresource', verb: '', apiGroup: '', resource: '', namespace: '', name: '', path: '/clusters/prod-eu/version', method: 'GET', sourceAddress: '[::1]:5000' }),
    auditEvent({ requestId: 'r-odd', user: 'bob@example.com', groups: [], reason: 'kubegate: "quoted" <html> & ünïcødé ✓ \u2028 line\nbreak', decision: 'deny', status: 400, verb: '', resource: '', path: '/clusters/x/api/v1/namespaces/%2e%2e/pods', userAgent: '' }),
  ]);
}

describe('toolchain/audit-decode', () => {
  test('was built against k8s.io/apiserver at the pinned Kubernetes version', async () => {
    const r = await runCommand(decoder, ['--version']);
    expect(r.stdout.trim()).toBe(`k8s.io/apiserver v0.${pinnedVersions().KUBERNETES_VERSION!.replace(/^1\./, '')}`);
  });

  test("kubegate's EventList decodes strictly with the real audit v1 types and round-trips unchanged", async () => {
    const list = toKubernetesAuditEventList(variedEvents());
    const r = await decode(list);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(list)));
  });

  test('each line of a kubernetes-format JSON Lines export is a standalone audit v1 Event that round-trips', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-audit-decode-'));
    const file = path.join(dir, 'audit.jsonl');
    const sink = new JsonlFileExporter({
      config: { type: 'jsonl-file', name: 'k8s', path: file, format: 'kubernetes', maxFileBytes: 1 << 30, maxFileAgeMs: 0, maxFiles: 0, maxBatchEvents: 100, initialBackoffMs: 1, maxBackoffMs: 1, rejectedRetryDelayMs: 1 },
      logger: silentLogger,
    });
    const events = variedEvents();
    await sink.deliver(events, new AbortController().signal);
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(events.length);
    for (const [i, line] of lines.entries()) {
      const r = await decode(line);
      expect({ line: i, stderr: r.stderr, code: r.code }).toEqual({ line: i, stderr: '', code: 0 });
      expect(JSON.parse(r.stdout)).toEqual(JSON.parse(line));
      expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(toKubernetesAuditEvent(events[i]!, { withTypeMeta: true }))));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // The checks above mean something only if the decoder refuses what Kubernetes would refuse.
  describe('refuses what does not match the schema, naming the field', () => {
    const good = () => JSON.parse(JSON.stringify(toKubernetesAuditEventList(variedEvents().slice(0, 2)))) as { items: Array<Record<string, unknown>> };

    test('an unknown field', async () => {
      const list = good();
      list.items[1]!.auditId = 'x';
      const r = await decode(list);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('unknown field "items[1].auditId"');
    });

    test('a mistyped field', async () => {
      const list = good();
      (list.items[0]!.user as Record<string, unknown>).groups = 'dev';
      const r = await decode(list);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot unmarshal string into Go struct field .*groups of type \[\]string/);
    });

    test('a timestamp with milliseconds only (MicroTime wants six digits)', async () => {
      const list = good();
      list.items[0]!.stageTimestamp = '2025-03-04T05:06:07.089Z';
      const r = await decode(list);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('2025-03-04T05:06:07.089Z');
    });

    test('a stage the API does not define, and a missing auditID', async () => {
      const list = good();
      list.items[0]!.stage = 'Decision';
      list.items[1]!.auditID = '';
      const r = await decode(list);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('items[0].stage: "Decision" is not an audit stage');
      expect(r.stderr).toContain('items[1].auditID: required');
    });

    test('another kind', async () => {
      const r = await decode({ kind: 'Policy', apiVersion: 'audit.k8s.io/v1', rules: [] });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('kind "Policy" is not Event or EventList');
    });
  });
});
