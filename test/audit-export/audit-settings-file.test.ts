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
  ['retention: {keep: forever}\n', /unknown field "retention.keep"/],
  ['exporter: []\n', /unknown field "exporter"/],
  ['- just a list\n', /must be a mapping/],
])('%j is refused, naming the problem', (text, message) => {
  const f = file(text);
  expect(() => readAuditSettingsFile(f)).toThrow(AuditSettingsFileError);
  expect(() => readAuditSettingsFile(f)).toThrow(message);
});

test('a missing file says so', () => {
  expect(() => readAuditSettingsFile(path.join(dir, 'nope.yaml'))).toThrow(/nope\.yaml: no such file/);
});
