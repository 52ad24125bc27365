/**
 * The operator's audit settings file (`kubegate dev up --audit-config FILE`): where the trail
 * is exported and how long it is kept, in YAML or JSON. Relative paths are taken from the
 * file's directory. Every problem is named with its field before anything starts.
 *
 *   exporters:
 *     - {type: jsonl-file, name: archive, path: audit/kubegate.jsonl, format: kubernetes}
 *     - {type: webhook, name: siem, url: https://siem.example:8443/k8s-audit, caFile: siem-ca.pem}
 *   retention: {maxAge: 90d, maxRecords: 50000000, maxSize: 20Gi}
 *
 * Retention keeps what every limit given allows (the strictest wins): maxAge a duration (at
 * least an hour), maxRecords a count (at least 1000), maxSize the records' total size in bytes,
 * as a Kubernetes quantity (500Mi, 10Gi, 2G, 1.5Gi) or a plain number of bytes (at least 1Mi).
 * The size counted is each record's canonical JSON, what it takes in an export; the database
 * files take more (indexes, free pages).
 *
 * The file's shape is AUDIT_SETTINGS_SCHEMA, checked by ajv; the exporters are then checked
 * as AuditExportConfig (validate-audit-export-config.ts), durations and sizes by their parsers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { DurationError, parseDurationMs } from '../config/duration';
import { schemaCheck } from '../validation/schema-check';
import type { AuditExporterConfig } from './audit-export-config';
import { resolveAuditExportConfig } from './validate-audit-export-config';

export interface AuditSettings {
  readonly exporters: readonly AuditExporterConfig[];
  readonly retention?: { readonly maxAgeMs?: number; readonly maxRecords?: number; readonly maxBytes?: number };
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

const maxSizeProblem =
  'retention.maxSize must be a size in bytes: a whole number, or a number with a unit such as 500Mi, 10Gi or 2G (Ki, Mi, Gi, Ti, Pi, Ei or k, M, G, T, P, E), got {got}';

/** The file's shape; what each field means is said atop this file. */
export const AUDIT_SETTINGS_SCHEMA = {
  type: 'object',
  properties: {
    exporters: { type: 'array', problems: { type: 'exporters must be a list' } },
    retention: {
      type: 'object',
      properties: {
        maxAge: { type: 'string', problems: { type: 'retention.maxAge must be a duration such as 90d or 720h, got {got}' } },
        maxRecords: { type: 'integer', minimum: 1000, problems: { type: 'retention.maxRecords must be a whole number of at least 1000, got {got}', minimum: 'retention.maxRecords must be a whole number of at least 1000, got {got}' } },
        maxSize: { type: ['string', 'integer'], minimum: 0, problems: { type: maxSizeProblem, minimum: maxSizeProblem } },
      },
      additionalProperties: false,
      problems: { type: 'retention must be a mapping with maxAge, maxRecords and/or maxSize', additionalProperties: 'unknown field "{field}" (expected {allowed})' },
    },
  },
  additionalProperties: false,
  problems: { type: 'must be a mapping with exporters and/or retention', additionalProperties: 'unknown field "{field}" (expected {allowed})' },
};

interface SettingsDoc {
  exporters?: unknown[];
  retention?: { maxAge?: string; maxRecords?: number; maxSize?: string | number };
}

const checkShape = schemaCheck(AUDIT_SETTINGS_SCHEMA);

export function readAuditSettingsFile(file: string): AuditSettings {
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AuditSettingsFileError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
  const [issue] = checkShape(doc);
  if (issue) throw new AuditSettingsFileError(file, issue.message);
  const { exporters = [], retention } = doc as SettingsDoc;
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

function parseRetention(file: string, { maxAge, maxRecords, maxSize }: NonNullable<SettingsDoc['retention']>): AuditSettings['retention'] {
  let maxAgeMs: number | undefined;
  if (maxAge !== undefined) {
    try {
      maxAgeMs = parseDurationMs(maxAge);
    } catch (err) {
      if (err instanceof DurationError) throw new AuditSettingsFileError(file, `retention.maxAge: ${err.message}`);
      throw err;
    }
    if (maxAgeMs < 3600_000) throw new AuditSettingsFileError(file, `retention.maxAge ${maxAge} is under an hour: an audit trail kept that briefly is no trail`);
  }
  const maxBytes = maxSize === undefined ? undefined : parseMaxSize(file, maxSize);
  return {
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
    ...(maxRecords !== undefined ? { maxRecords } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
  };
}

/** Multipliers of Kubernetes quantity suffixes that make sense for bytes (no milli). */
const SIZE_SUFFIX: Readonly<Record<string, bigint>> = {
  '': 1n,
  k: 10n ** 3n,
  M: 10n ** 6n,
  G: 10n ** 9n,
  T: 10n ** 12n,
  P: 10n ** 15n,
  E: 10n ** 18n,
  Ki: 2n ** 10n,
  Mi: 2n ** 20n,
  Gi: 2n ** 30n,
  Ti: 2n ** 40n,
  Pi: 2n ** 50n,
  Ei: 2n ** 60n,
};

/** 1Mi. A record takes about half a kilobyte to a kilobyte, so less keeps only a thousand or so. */
const MIN_MAX_BYTES = 2 ** 20;

/**
 * retention.maxSize in bytes: a whole number of bytes or a quantity such as 500Mi, 10Gi, 2G.
 * The schema let through only strings and whole numbers; a quantity's syntax is read here.
 */
function parseMaxSize(file: string, value: string | number): number {
  const text = typeof value === 'number' ? String(value) : value.trim();
  const match = /^(\d+)(?:\.(\d+))?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(text);
  if (!match) throw new AuditSettingsFileError(file, maxSizeProblem.replace('{got}', JSON.stringify(value)));
  const [, whole, fraction = '', suffix = ''] = match;
  // Exact arithmetic (1.1k is 1100, not 1100.0000000000002), rounded up to a whole byte as
  // Kubernetes rounds quantities of bytes.
  const scale = 10n ** BigInt(fraction.length);
  const scaled = BigInt(whole! + fraction) * SIZE_SUFFIX[suffix]!;
  const bytes = (scaled + scale - 1n) / scale;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new AuditSettingsFileError(file, `retention.maxSize ${text} is too large: at most ${Number.MAX_SAFE_INTEGER} bytes`);
  if (bytes < BigInt(MIN_MAX_BYTES)) {
    throw new AuditSettingsFileError(file, `retention.maxSize ${text} is under 1Mi: at half a kilobyte to a kilobyte a record, a trail that small keeps only its last thousand or so records`);
  }
  return Number(bytes);
}
