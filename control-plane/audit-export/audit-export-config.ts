/**
 * How audit exports are configured: where positions are kept, and the exporters, each a JSON
 * Lines file or a webhook with its own position. Everything optional has a default written
 * next to it. AUDIT_EXPORT_CONFIG_SCHEMA says the same shape as a JSON Schema, with each
 * problem's stable code and message; resolveAuditExportConfig (validate-audit-export-config.ts)
 * checks a config against it, then what a schema cannot check (files, URLs, names used twice),
 * and fills the defaults in.
 */

/** What every exporter has. */
export interface ExporterConfigBase {
  /**
   * Names the exporter in logs, status and metrics, and its position file
   * (`<stateDir>/<name>.position.json`): lowercase letters, digits and '-', at most 63. Renaming
   * an exporter starts it from the beginning of the store.
   */
  readonly name: string;
  /** Events per batch (one file write, one webhook POST). @default 1000 for files, 400 for webhooks (kube-apiserver's audit webhook batch size) */
  readonly maxBatchEvents?: number;
  /** The first retry after a failure waits about this long; each further one twice as long. @default 500 */
  readonly initialBackoffMs?: number;
  /** No retry waits longer (nor does a sink's Retry-After). @default 60000 */
  readonly maxBackoffMs?: number;
  /**
   * The wait before sending a batch the sink refused (a 4xx other than 429) again. It is never
   * dropped: the exporter holds it, logs the sink's answer, and tries again. @default 300000
   */
  readonly rejectedRetryDelayMs?: number;
}

export type JsonlLineFormat = 'kubegate' | 'kubernetes';

/** Appends events as JSON Lines to a file, rotated by size (and optionally age). */
export interface JsonlFileExporterConfig extends ExporterConfigBase {
  readonly type: 'jsonl-file';
  /**
   * The file written to. Rotated files sit next to it, named after the seqs they hold:
   * `audit.jsonl` → `audit-000000000001-000000004210.jsonl`.
   */
  readonly path: string;
  /** A file is rotated before a line would take it past this size. @default 104857600 (100 MiB) */
  readonly maxFileBytes?: number;
  /** A file is rotated before a line is added once it is this old (0: only by size). @default 0 */
  readonly maxFileAgeMs?: number;
  /** Rotated files kept; older ones are deleted (0: keep them all). @default 10 */
  readonly maxFiles?: number;
  /**
   * One line per event: `kubegate`, the stored event as it is (seq, hash chain: verifiable);
   * `kubernetes`, an audit.k8s.io/v1 Event, as kube-apiserver's log backend writes.
   * @default 'kubegate'
   */
  readonly format?: JsonlLineFormat;
}

/** POSTs batches as audit.k8s.io/v1 EventList to an HTTPS endpoint (a SIEM, an audit pipeline). */
export interface WebhookExporterConfig extends ExporterConfigBase {
  readonly type: 'webhook';
  /** https:// only, without credentials in it (use bearerTokenFile or a client certificate). */
  readonly url: string;
  /** PEM bundle the sink's certificate must chain to. @default Node's bundled root CAs */
  readonly caFile?: string;
  /** PEM client certificate for mutual TLS; needs clientKeyFile. */
  readonly clientCertFile?: string;
  /** PEM private key of clientCertFile. */
  readonly clientKeyFile?: string;
  /** A file whose content is sent as `Authorization: Bearer <content>`. */
  readonly bearerTokenFile?: string;
  /** Request bodies stay under this size; an event larger on its own is still sent, alone. @default 4194304 (4 MiB) */
  readonly maxBatchBytes?: number;
  /** A request that takes longer fails and is retried. @default 30000 */
  readonly requestTimeoutMs?: number;
}

export type AuditExporterConfig = JsonlFileExporterConfig | WebhookExporterConfig;

export interface AuditExportConfig {
  /** Directory for the exporters' position files; created (0700) if missing. */
  readonly stateDir: string;
  /** @default [] */
  readonly exporters?: readonly AuditExporterConfig[];
  /** How often the store is looked at for new events when nobody calls notify(). @default 1000 */
  readonly pollIntervalMs?: number;
}

export const EXPORT_DEFAULTS = {
  pollIntervalMs: 1000,
  initialBackoffMs: 500,
  maxBackoffMs: 60_000,
  rejectedRetryDelayMs: 300_000,
  file: { maxBatchEvents: 1000, maxFileBytes: 100 * 1024 * 1024, maxFileAgeMs: 0, maxFiles: 10, format: 'kubegate' as JsonlLineFormat },
  webhook: { maxBatchEvents: 400, maxBatchBytes: 4 * 1024 * 1024, requestTimeoutMs: 30_000 },
} as const;

interface ResolvedBase {
  readonly name: string;
  readonly maxBatchEvents: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly rejectedRetryDelayMs: number;
}

export interface ResolvedJsonlFileExporterConfig extends ResolvedBase {
  readonly type: 'jsonl-file';
  /** Absolute. */
  readonly path: string;
  readonly maxFileBytes: number;
  readonly maxFileAgeMs: number;
  readonly maxFiles: number;
  readonly format: JsonlLineFormat;
}

export interface ResolvedWebhookExporterConfig extends ResolvedBase {
  readonly type: 'webhook';
  readonly url: URL;
  /** The files' contents, read and checked when the config was resolved. */
  readonly ca?: string;
  readonly clientCert?: string;
  readonly clientKey?: string;
  readonly bearerToken?: string;
  readonly maxBatchBytes: number;
  readonly requestTimeoutMs: number;
}

export type ResolvedExporterConfig = ResolvedJsonlFileExporterConfig | ResolvedWebhookExporterConfig;

export interface ResolvedAuditExportConfig {
  /** Absolute. */
  readonly stateDir: string;
  readonly pollIntervalMs: number;
  readonly exporters: readonly ResolvedExporterConfig[];
}

/** A whole number of at least `min` (and at most 2^53 - 1, which is exact). */
const count = (min: number) => {
  const problem = `{got} must be a whole number of at least ${min}`;
  return { type: 'integer', minimum: min, maximum: Number.MAX_SAFE_INTEGER, errorCode: 'ERR_AUDIT_EXPORT_BAD_NUMBER', problems: { type: problem, minimum: problem, maximum: problem } };
};

/** A file the exporter reads at start (a CA, a client certificate or key, a token). */
const fileToRead = { type: 'string', minLength: 1, errorCode: 'ERR_AUDIT_EXPORT_UNREADABLE_FILE', problems: { type: 'must be a file path', minLength: 'must be a file path' } };

const exporterName = "{got} is not an exporter name: lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit";

/** The fields of ExporterConfigBase. */
const BASE_PROPERTIES = {
  type: true,
  name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', errorCode: 'ERR_AUDIT_EXPORT_BAD_NAME', problems: { required: exporterName, type: exporterName, pattern: exporterName } },
  maxBatchEvents: count(1),
  initialBackoffMs: count(1),
  maxBackoffMs: count(1),
  rejectedRetryDelayMs: count(1),
};

/** The exporter of type `type`: exactly these fields. */
const exporterOfType = (type: string, properties: Record<string, unknown>, required: readonly string[]) => ({
  if: { properties: { type: { const: type } }, required: ['type'] },
  then: {
    properties,
    required: ['name', ...required],
    additionalProperties: false,
    errorCode: 'ERR_AUDIT_EXPORT_UNKNOWN_FIELD',
    problems: { additionalProperties: 'is not a field here (known: {allowed})' },
  },
});

const FILE_EXPORTER = exporterOfType(
  'jsonl-file',
  {
    ...BASE_PROPERTIES,
    path: { type: 'string', minLength: 1, errorCode: 'ERR_AUDIT_EXPORT_BAD_PATH', problems: { required: 'is required: the file events are written to', type: 'is required: the file events are written to', minLength: 'is required: the file events are written to' } },
    maxFileBytes: count(1),
    maxFileAgeMs: count(0),
    maxFiles: count(0),
    format: { enum: ['kubegate', 'kubernetes'], errorCode: 'ERR_AUDIT_EXPORT_BAD_FORMAT', problems: { enum: '{got} is not a line format: use kubegate or kubernetes' } },
  },
  ['path'],
);

const WEBHOOK_EXPORTER = exporterOfType(
  'webhook',
  {
    ...BASE_PROPERTIES,
    url: { type: 'string', minLength: 1, errorCode: 'ERR_AUDIT_EXPORT_BAD_URL', problems: { required: 'is required: the https:// URL EventList batches are POSTed to', type: 'is required: the https:// URL EventList batches are POSTed to', minLength: 'is required: the https:// URL EventList batches are POSTed to' } },
    caFile: fileToRead,
    clientCertFile: fileToRead,
    clientKeyFile: fileToRead,
    bearerTokenFile: fileToRead,
    maxBatchBytes: count(1),
    requestTimeoutMs: count(1),
  },
  ['url'],
);

/** AuditExportConfig as a JSON Schema; every problem carries its AuditExportConfigCode. */
export const AUDIT_EXPORT_CONFIG_SCHEMA = {
  type: 'object',
  properties: {
    stateDir: {
      type: 'string',
      minLength: 1,
      errorCode: 'ERR_AUDIT_EXPORT_BAD_STATE_DIR',
      problems: { required: 'is required: the directory where exporters keep their positions', type: 'is required: the directory where exporters keep their positions', minLength: 'is required: the directory where exporters keep their positions' },
    },
    exporters: {
      type: 'array',
      errorCode: 'ERR_AUDIT_EXPORT_NOT_AN_OBJECT',
      problems: { type: 'must be a list of exporters' },
      items: {
        type: 'object',
        required: ['type'],
        properties: {
          type: { enum: ['jsonl-file', 'webhook'], errorCode: 'ERR_AUDIT_EXPORT_BAD_TYPE', problems: { required: '{got} is not an exporter type: use jsonl-file or webhook', enum: '{got} is not an exporter type: use jsonl-file or webhook' } },
        },
        allOf: [FILE_EXPORTER, WEBHOOK_EXPORTER],
        errorCode: 'ERR_AUDIT_EXPORT_NOT_AN_OBJECT',
        problems: { type: 'an exporter must be an object' },
      },
    },
    pollIntervalMs: count(1),
  },
  required: ['stateDir'],
  additionalProperties: false,
  errorCode: { type: 'ERR_AUDIT_EXPORT_NOT_AN_OBJECT', additionalProperties: 'ERR_AUDIT_EXPORT_UNKNOWN_FIELD' },
  problems: { type: 'the audit export configuration must be an object', additionalProperties: 'is not a field here (known: {allowed})' },
};
