/** The operator's audit settings file: resolved paths, retention, and every problem named. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditSettingsFileError, readAuditSettingsFile } from '../../control-plane/audit-export/audit-settings-file';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-audit-settings-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
function file(text: string): string {
  const f = path.join(dir, `s-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(f, text);
  return f;
}

test('exporters with paths relative to the file, and retention as durations', () => {
  const f = file('exporters:\n  - {type: jsonl-file, name: archive, path: audit/k.jsonl, format: kubernetes}\nretention: {maxAge: 30d, maxRecords: 100000}\n');
  expect(readAuditSettingsFile(f)).toEqual({
    exporters: [{ type: 'jsonl-file', name: 'archive', path: path.join(dir, 'audit', 'k.jsonl'), format: 'kubernetes' }],
    retention: { maxAgeMs: 30 * 24 * 3600 * 1000, maxRecords: 100000 },
  });
});

test('retention by size: Kubernetes quantities and plain byte counts', () => {
  const f = file('retention: {maxAge: 90d, maxSize: 20Gi}\n');
  expect(readAuditSettingsFile(f)).toEqual({ exporters: [], retention: { maxAgeMs: 90 * 24 * 3600 * 1000, maxBytes: 20 * 2 ** 30 } });
});

test.each([
  ['500Mi', 500 * 2 ** 20],
  ['10Gi', 10 * 2 ** 30],
  ['2G', 2_000_000_000],
  ['1Mi', 2 ** 20],
  ['1.5Gi', 1.5 * 2 ** 30],
  // Exactly, not 1100000.0000000002 rounded up.
  ['1.1M', 1_100_000],
  ['3T', 3e12],
  ['4096k', 4_096_000],
  ['"1048576"', 1_048_576],
  ['1048576', 1_048_576],
  ['5e9', 5_000_000_000],
])('retention.maxSize %s is %d bytes', (text, bytes) => {
  expect(readAuditSettingsFile(file(`retention: {maxSize: ${text}}\n`)).retention).toEqual({ maxBytes: bytes });
});

test('an empty mapping means no exports and the default retention', () => {
  expect(readAuditSettingsFile(file('{}\n'))).toEqual({ exporters: [] });
});

test.each([
  ['exporters: [{type: webhook, name: siem, url: "http://x"}]\n', /exporters\[0\]\.url/],
  ['exporters: [{type: jsonl-file, name: a, path: x.jsonl, colour: red}]\n', /colour/],
  ['exporters: {}\n', /exporters must be a list/],
  ['retention: {maxAge: soon}\n', /retention\.maxAge: "soon" is not a duration/],
  ['retention: {maxAge: 10m}\n', /under an hour/],
  ['retention: {maxRecords: 5}\n', /at least 1000, got 5/],
  ['retention: {keep: forever}\n', /unknown field "retention.keep" \(expected maxAge, maxRecords, maxSize\)/],
  ['retention: {maxSize: 10GB}\n', /retention\.maxSize must be a size in bytes: a whole number, or a number with a unit such as 500Mi, 10Gi or 2G .*, got "10GB"$/],
  ['retention: {maxSize: 100m}\n', /retention\.maxSize must be a size in bytes.*got "100m"$/],
  ['retention: {maxSize: 10 Gi}\n', /retention\.maxSize must be a size in bytes.*got "10 Gi"$/],
  ['retention: {maxSize: -5}\n', /retention\.maxSize must be a size in bytes.*got -5$/],
  ['retention: {maxSize: 1048576.5}\n', /retention\.maxSize must be a size in bytes.*got 1048576.5$/],
  ['retention: {maxSize: true}\n', /retention\.maxSize must be a size in bytes.*got true$/],
  ['retention: {maxSize: 512Ki}\n', /retention\.maxSize 512Ki is under 1Mi: .* keeps only its last thousand or so records$/],
  ['retention: {maxSize: 1048575}\n', /retention\.maxSize 1048575 is under 1Mi/],
  ['retention: {maxSize: 8Ei}\n', /retention\.maxSize 8Ei is too large: at most 9007199254740991 bytes$/],
  ['exporter: []\n', /unknown field "exporter"/],
  ['retention: [90d]\n', /retention must be a mapping with maxAge, maxRecords and\/or maxSize$/],
  ['retention: {maxAge: 90}\n', /retention\.maxAge must be a duration such as 90d or 720h, got 90$/],
  ['retention: {maxRecords: 1000.5}\n', /retention\.maxRecords must be a whole number of at least 1000, got 1000.5$/],
  ['exporters: [{name: a}]\n', /exporters\[0\]\.type: undefined is not an exporter type/],
  ['- just a list\n', /must be a mapping/],
])('%j is refused, naming the problem', (text, message) => {
  const f = file(text);
  expect(() => readAuditSettingsFile(f)).toThrow(AuditSettingsFileError);
  expect(() => readAuditSettingsFile(f)).toThrow(message);
});

test('a maxSize problem names the file and the field, and why', () => {
  const f = file('retention: {maxSize: 512Ki}\n');
  expect(() => readAuditSettingsFile(f)).toThrow(
    `audit settings ${f}: retention.maxSize 512Ki is under 1Mi: at half a kilobyte to a kilobyte a record, a trail that small keeps only its last thousand or so records`,
  );
});

test('a missing file says so', () => {
  expect(() => readAuditSettingsFile(path.join(dir, 'nope.yaml'))).toThrow(/nope\.yaml: no such file/);
});
