/**
 * Audit export configuration: defaults, and every problem named at once with a stable code and
 * the field it is about.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditExporters } from '../../control-plane/audit-export/audit-exporters';
import { AuditExportConfigError, resolveAuditExportConfig, validateAuditExportConfig } from '../../control-plane/audit-export/validate-audit-export-config';
import { makeSinkPki, type SinkPki } from './audit-sink-server';
import { MemoryAuditSource } from './audit-fixtures';

let dir: string;
let pki: SinkPki;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-audit-config-'));
  pki = makeSinkPki(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const codes = (config: unknown) => validateAuditExportConfig(config).map((p) => [p.field, p.code]);

describe('audit export configuration', () => {
  test('defaults are filled in and paths made absolute', () => {
    const resolved = resolveAuditExportConfig({
      stateDir: path.relative(process.cwd(), path.join(dir, 'state')),
      exporters: [
        { type: 'jsonl-file', name: 'file', path: path.join(dir, 'out', 'audit.jsonl') },
        { type: 'webhook', name: 'siem', url: 'https://siem.example.com/k8s-audit', caFile: pki.caFile },
      ],
    });
    expect(resolved.stateDir).toBe(path.join(dir, 'state'));
    expect(resolved.pollIntervalMs).toBe(1000);
    expect(resolved.exporters[0]).toEqual({
      type: 'jsonl-file',
      name: 'file',
      path: path.join(dir, 'out', 'audit.jsonl'),
      maxBatchEvents: 1000,
      maxFileBytes: 104857600,
      maxFileAgeMs: 0,
      maxFiles: 10,
      format: 'kubegate',
      initialBackoffMs: 500,
      maxBackoffMs: 60000,
      rejectedRetryDelayMs: 300000,
    });
    expect(resolved.exporters[1]).toMatchObject({ type: 'webhook', maxBatchEvents: 400, maxBatchBytes: 4194304, requestTimeoutMs: 30000, ca: fs.readFileSync(pki.caFile, 'utf8') });
  });

  test('an empty exporter list is valid', () => {
    expect(codes({ stateDir: dir })).toEqual([]);
  });

  test('every problem is named, with its field and a stable code', () => {
    const problems = codes({
      stateDir: path.join(pki.caFile, 'sub'),
      pollIntervalMs: 0,
      exporters: [
        { type: 'webhook', name: 'siem', url: 'http://siem.example.com/', caFile: path.join(dir, 'missing.pem'), clientCertFile: pki.clientCertFile, maxBatchEvents: -1 },
        { type: 'webhook', name: 'siem', url: 'not a url', caFile: pki.clientKeyFile, clientCertFile: pki.clientCertFile, clientKeyFile: pki.caFile },
        { type: 'webhook', name: 'Bad_Name', url: 'https://user:pw@siem.example.com/', bearerTokenFile: path.join(dir, 'sink-ca.pem'), timeout: 5 },
        { type: 'jsonl-file', name: 'file', path: dir, maxFileBytes: -100, maxFiles: 1.5, format: 'xml' },
        { type: 'jsonl-file', name: 'file2', path: path.join(dir, 'a.jsonl'), maxBackoffMs: 10, initialBackoffMs: 100 },
        { type: 'jsonl-file', name: 'file3', path: path.join(dir, 'a.jsonl') },
        { type: 'syslog', name: 'old' },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        ['stateDir', 'ERR_AUDIT_EXPORT_BAD_STATE_DIR'],
        ['pollIntervalMs', 'ERR_AUDIT_EXPORT_BAD_NUMBER'],
        ['exporters[0].url', 'ERR_AUDIT_EXPORT_BAD_URL'],
        ['exporters[0].caFile', 'ERR_AUDIT_EXPORT_UNREADABLE_FILE'],
        ['exporters[0].clientKeyFile', 'ERR_AUDIT_EXPORT_INCOMPLETE_CLIENT_CERT'],
        ['exporters[0].maxBatchEvents', 'ERR_AUDIT_EXPORT_BAD_NUMBER'],
        ['exporters[1].name', 'ERR_AUDIT_EXPORT_DUPLICATE_NAME'],
        ['exporters[1].url', 'ERR_AUDIT_EXPORT_BAD_URL'],
        ['exporters[1].caFile', 'ERR_AUDIT_EXPORT_BAD_CERTIFICATE'],
        ['exporters[1].clientKeyFile', 'ERR_AUDIT_EXPORT_BAD_CERTIFICATE'],
        ['exporters[2].name', 'ERR_AUDIT_EXPORT_BAD_NAME'],
        ['exporters[2].url', 'ERR_AUDIT_EXPORT_BAD_URL'],
        ['exporters[2].bearerTokenFile', 'ERR_AUDIT_EXPORT_BAD_TOKEN'],
        ['exporters[2].timeout', 'ERR_AUDIT_EXPORT_UNKNOWN_FIELD'],
        ['exporters[3].path', 'ERR_AUDIT_EXPORT_BAD_PATH'],
        ['exporters[3].maxFileBytes', 'ERR_AUDIT_EXPORT_BAD_NUMBER'],
        ['exporters[3].maxFiles', 'ERR_AUDIT_EXPORT_BAD_NUMBER'],
        ['exporters[3].format', 'ERR_AUDIT_EXPORT_BAD_FORMAT'],
        ['exporters[4].maxBackoffMs', 'ERR_AUDIT_EXPORT_BAD_NUMBER'],
        ['exporters[5].path', 'ERR_AUDIT_EXPORT_PATH_CONFLICT'],
        ['exporters[6].type', 'ERR_AUDIT_EXPORT_BAD_TYPE'],
      ]),
    );
    expect(problems).toHaveLength(21);
  });

  test('a config, exporter list or exporter of the wrong kind is named with its code', () => {
    expect(validateAuditExportConfig('stateDir: x')).toEqual([{ code: 'ERR_AUDIT_EXPORT_NOT_AN_OBJECT', field: '', message: 'the audit export configuration must be an object' }]);
    expect(codes({ stateDir: 7, exporters: 'all', pollIntervalMs: '1s', extra: true })).toEqual(
      expect.arrayContaining([
        ['stateDir', 'ERR_AUDIT_EXPORT_BAD_STATE_DIR'],
        ['exporters', 'ERR_AUDIT_EXPORT_NOT_AN_OBJECT'],
        ['pollIntervalMs', 'ERR_AUDIT_EXPORT_BAD_NUMBER'],
        ['extra', 'ERR_AUDIT_EXPORT_UNKNOWN_FIELD'],
      ]),
    );
    const problems = validateAuditExportConfig({ stateDir: dir, exporters: [null, { name: 'x' }, { type: 'jsonl-file' }, { type: 'webhook', name: 'w', caFile: 3 }] });
    expect(problems.map((p) => [p.field, p.code, p.message])).toEqual(
      expect.arrayContaining([
        ['exporters[0]', 'ERR_AUDIT_EXPORT_NOT_AN_OBJECT', 'an exporter must be an object'],
        ['exporters[1].type', 'ERR_AUDIT_EXPORT_BAD_TYPE', 'undefined is not an exporter type: use jsonl-file or webhook'],
        ['exporters[2].name', 'ERR_AUDIT_EXPORT_BAD_NAME', expect.stringContaining('undefined is not an exporter name')],
        ['exporters[2].path', 'ERR_AUDIT_EXPORT_BAD_PATH', 'is required: the file events are written to'],
        ['exporters[3].url', 'ERR_AUDIT_EXPORT_BAD_URL', 'is required: the https:// URL EventList batches are POSTed to'],
        ['exporters[3].caFile', 'ERR_AUDIT_EXPORT_UNREADABLE_FILE', 'must be a file path'],
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  test('messages say what is wrong and what to do', () => {
    const [url, token] = validateAuditExportConfig({
      stateDir: dir,
      exporters: [{ type: 'webhook', name: 'siem', url: 'http://siem.example.com/', bearerTokenFile: path.join(dir, 'nope') }],
    });
    expect(url!.message).toBe('http:// is not allowed: audit records leave only over https://');
    expect(token).toMatchObject({ code: 'ERR_AUDIT_EXPORT_UNREADABLE_FILE', field: 'exporters[0].bearerTokenFile' });
    expect(token!.message).toContain(`cannot read ${path.join(dir, 'nope')}`);
  });

  test('AuditExporters refuses a bad config before starting anything', () => {
    let error: unknown;
    try {
      new AuditExporters({ config: { stateDir: dir, exporters: [{ type: 'webhook', name: 'siem', url: 'ftp://x' }] }, source: new MemoryAuditSource() });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AuditExportConfigError);
    expect(error).toMatchObject({ code: 'ERR_AUDIT_EXPORT_CONFIG', problems: [{ code: 'ERR_AUDIT_EXPORT_BAD_URL', field: 'exporters[0].url' }] });
    expect((error as Error).message).toContain('exporters[0].url: ftp:// is not allowed');
  });
});
