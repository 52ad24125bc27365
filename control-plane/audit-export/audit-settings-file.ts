/**
 * The operator's audit settings file (`kubegate dev up --audit-config FILE`): where the trail
 * is exported and how long it is kept, in YAML or JSON. Relative paths are taken from the
 * file's directory. Every problem is named with its field before anything starts.
 *
 *   exporters:
 *     - {type: jsonl-file, name: archive, path: audit/kubegate.jsonl, format: kubernetes}
 *     - {type: webhook, name: siem, url: https://siem.example:8443/k8s-audit, caFile: siem-ca.pem}
 *   retention: {maxAge: 90d, maxRecords: 50000000}
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { DurationError, parseDurationMs } from '../config/duration';
import type { AuditExporterConfig } from './audit-export-config';
import { resolveAuditExportConfig } from './validate-audit-export-config';

export interface AuditSettings {
  readonly exporters: readonly AuditExporterConfig[];
  readonly retention?: { readonly maxAgeMs?: number; readonly maxRecords?: number };
}

export class AuditSettingsFileError extends Error {
  readonly code = 'ERR_AUDIT_SETTINGS_FILE';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`audit settings ${file}: ${problem}`);
    this.name = 'AuditSettingsFileError';
  }
}

const PATH_FIELDS = ['path', 'caFile', 'clientCertFile', 'clientKeyFile', 'bearerTokenFile'] as const;

export function readAuditSettingsFile(file: string): AuditSettings {
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AuditSettingsFileError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new AuditSettingsFileError(file, 'must be a mapping with exporters and/or retention');
  const { exporters = [], retention, ...extra } = doc as Record<string, unknown>;
  const unknown = Object.keys(extra);
  if (unknown.length > 0) throw new AuditSettingsFileError(file, `unknown field "${unknown[0]}" (expected exporters, retention)`);
  if (!Array.isArray(exporters)) throw new AuditSettingsFileError(file, 'exporters must be a list');
  const dir = path.dirname(path.resolve(file));
  const resolved = exporters.map((e) => {
    if (typeof e !== 'object' || e === null) return e as AuditExporterConfig;
    const copy: Record<string, unknown> = { ...(e as Record<string, unknown>) };
    for (const field of PATH_FIELDS) if (typeof copy[field] === 'string') copy[field] = path.resolve(dir, copy[field] as string);
    return copy as unknown as AuditExporterConfig;
  });
  try {
    // Checked now with a throwaway state directory: the stack checks again with its own.
    resolveAuditExportConfig({ stateDir: dir, exporters: resolved });
  } catch (err) {
    throw new AuditSettingsFileError(file, (err as Error).message);
  }
  return { exporters: resolved, ...(retention === undefined ? {} : { retention: parseRetention(file, retention) }) };
}

function parseRetention(file: string, value: unknown): AuditSettings['retention'] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AuditSettingsFileError(file, 'retention must be a mapping with maxAge and/or maxRecords');
  const { maxAge, maxRecords, ...extra } = value as Record<string, unknown>;
  const unknown = Object.keys(extra);
  if (unknown.length > 0) throw new AuditSettingsFileError(file, `unknown field "retention.${unknown[0]}" (expected maxAge, maxRecords)`);
  let maxAgeMs: number | undefined;
  if (maxAge !== undefined) {
    try {
      maxAgeMs = parseDurationMs(String(maxAge));
    } catch (err) {
      if (err instanceof DurationError) throw new AuditSettingsFileError(file, `retention.maxAge: ${err.message}`);
      throw err;
    }
    if (maxAgeMs < 3600_000) throw new AuditSettingsFileError(file, `retention.maxAge ${String(maxAge)} is under an hour: an audit trail kept that briefly is no trail`);
  }
  if (maxRecords !== undefined && (!Number.isInteger(maxRecords) || (maxRecords as number) < 1000)) {
    throw new AuditSettingsFileError(file, `retention.maxRecords must be a whole number of at least 1000, got ${JSON.stringify(maxRecords)}`);
  }
  return { ...(maxAgeMs !== undefined ? { maxAgeMs } : {}), ...(maxRecords !== undefined ? { maxRecords: maxRecords as number } : {}) };
}
