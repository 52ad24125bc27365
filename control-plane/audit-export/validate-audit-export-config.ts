/**
 * Checks an audit export config before anything starts, and names every problem at once with a
 * stable code and where it is (`exporters[1].caFile`), so a bad URL or an unreadable CA file
 * is found at startup rather than as an endless retry later. The shape is checked by ajv
 * against AUDIT_EXPORT_CONFIG_SCHEMA; then what a schema cannot check: directories and files
 * (the CA, client certificate and key, token are read and parsed, their contents go into the
 * resolved config), URLs, and rules between fields and exporters.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dottedPath, schemaCheck } from '../validation/schema-check';
import {
  AUDIT_EXPORT_CONFIG_SCHEMA,
  type AuditExportConfig,
  type AuditExporterConfig,
  EXPORT_DEFAULTS,
  type ResolvedAuditExportConfig,
  type ResolvedExporterConfig,
  type ResolvedJsonlFileExporterConfig,
  type ResolvedWebhookExporterConfig,
  type WebhookExporterConfig,
} from './audit-export-config';

export type AuditExportConfigCode =
  | 'ERR_AUDIT_EXPORT_NOT_AN_OBJECT'
  | 'ERR_AUDIT_EXPORT_UNKNOWN_FIELD'
  | 'ERR_AUDIT_EXPORT_BAD_STATE_DIR'
  | 'ERR_AUDIT_EXPORT_BAD_TYPE'
  | 'ERR_AUDIT_EXPORT_BAD_NAME'
  | 'ERR_AUDIT_EXPORT_DUPLICATE_NAME'
  | 'ERR_AUDIT_EXPORT_BAD_NUMBER'
  | 'ERR_AUDIT_EXPORT_BAD_PATH'
  | 'ERR_AUDIT_EXPORT_PATH_CONFLICT'
  | 'ERR_AUDIT_EXPORT_BAD_FORMAT'
  | 'ERR_AUDIT_EXPORT_BAD_URL'
  | 'ERR_AUDIT_EXPORT_UNREADABLE_FILE'
  | 'ERR_AUDIT_EXPORT_BAD_CERTIFICATE'
  | 'ERR_AUDIT_EXPORT_INCOMPLETE_CLIENT_CERT'
  | 'ERR_AUDIT_EXPORT_BAD_TOKEN';

export interface AuditExportConfigProblem {
  readonly code: AuditExportConfigCode;
  /** Where in the config: `stateDir`, `exporters[0].url`. */
  readonly field: string;
  readonly message: string;
}

export class AuditExportConfigError extends Error {
  readonly code = 'ERR_AUDIT_EXPORT_CONFIG';
  constructor(readonly problems: readonly AuditExportConfigProblem[]) {
    super(`invalid audit export configuration:\n${problems.map((p) => `  ${p.field}: ${p.message} (${p.code})`).join('\n')}`);
    this.name = 'AuditExportConfigError';
  }
}

const checkShape = schemaCheck(AUDIT_EXPORT_CONFIG_SCHEMA);

/** Every problem of `config`; empty when it is good. */
export function validateAuditExportConfig(config: unknown): readonly AuditExportConfigProblem[] {
  return check(config).problems;
}

/** The config with defaults filled in and files read; throws AuditExportConfigError naming every problem. */
export function resolveAuditExportConfig(config: AuditExportConfig): ResolvedAuditExportConfig {
  const { problems, resolved } = check(config);
  if (problems.length > 0 || !resolved) throw new AuditExportConfigError(problems);
  return resolved;
}

class Problems {
  readonly list: AuditExportConfigProblem[] = [];
  add(code: AuditExportConfigCode, field: string, message: string): void {
    this.list.push({ code, field, message });
  }
}

type Fields = Record<string, unknown>;

/** What the exporters' files hold, read while checking. */
interface ExporterFiles {
  ca?: string;
  clientCert?: string;
  clientKey?: string;
  bearerToken?: string;
}

function check(config: unknown): { problems: readonly AuditExportConfigProblem[]; resolved?: ResolvedAuditExportConfig } {
  const problems = new Problems();
  for (const issue of checkShape(config)) problems.add(issue.code as AuditExportConfigCode, dottedPath(issue.path), issue.message);
  if (!isObject(config)) return { problems: problems.list };
  // The schema let through only what the checks below can read; each looks at a value only
  // when its type is right, so nothing is reported twice.
  const stateDir = typeof config.stateDir === 'string' && config.stateDir !== '' ? checkStateDir(config.stateDir, problems) : undefined;
  const list = Array.isArray(config.exporters) ? (config.exporters as unknown[]) : [];
  const names = new Map<string, number>();
  const files = new Map<string, number>();
  const read: ExporterFiles[] = [];
  list.forEach((entry, i) => {
    const at = `exporters[${i}]`;
    if (!isObject(entry)) return;
    if (typeof entry.name === 'string' && names.has(entry.name)) {
      problems.add('ERR_AUDIT_EXPORT_DUPLICATE_NAME', `${at}.name`, `"${entry.name}" is also the name of exporters[${names.get(entry.name)}]; each exporter needs its own position file`);
    } else if (typeof entry.name === 'string') names.set(entry.name, i);
    if (entry.type !== 'jsonl-file' && entry.type !== 'webhook') return;
    checkBackoff(entry, at, problems);
    if (entry.type === 'webhook') read[i] = checkWebhookExporter(entry, at, problems);
    else if (typeof entry.path === 'string' && entry.path !== '') {
      const file = checkOutputFile(entry.path, `${at}.path`, problems);
      // Two exporters appending to one file would interleave and rotate each other's lines.
      if (file !== undefined && files.has(file)) problems.add('ERR_AUDIT_EXPORT_PATH_CONFLICT', `${at}.path`, `${file} is also written by exporters[${files.get(file)}]`);
      else if (file !== undefined) files.set(file, i);
    }
  });
  if (problems.list.length > 0 || stateDir === undefined) return { problems: problems.list };
  const exporters = (list as AuditExporterConfig[]).map((entry, i) => resolveExporter(entry, read[i] ?? {}));
  return { problems: [], resolved: { stateDir, pollIntervalMs: (config.pollIntervalMs as number | undefined) ?? EXPORT_DEFAULTS.pollIntervalMs, exporters } };
}

function checkBackoff(entry: Fields, at: string, problems: Problems): void {
  const initial = entry.initialBackoffMs ?? EXPORT_DEFAULTS.initialBackoffMs;
  const max = entry.maxBackoffMs;
  if (Number.isSafeInteger(initial) && Number.isSafeInteger(max) && (max as number) < (initial as number)) {
    problems.add('ERR_AUDIT_EXPORT_BAD_NUMBER', `${at}.maxBackoffMs`, `${String(max)} is less than initialBackoffMs (${String(initial)})`);
  }
}

/** A checked exporter with every default filled in. */
function resolveExporter(entry: AuditExporterConfig, files: ExporterFiles): ResolvedExporterConfig {
  const initialBackoffMs = entry.initialBackoffMs ?? EXPORT_DEFAULTS.initialBackoffMs;
  const base = {
    name: entry.name,
    initialBackoffMs,
    maxBackoffMs: entry.maxBackoffMs ?? Math.max(EXPORT_DEFAULTS.maxBackoffMs, initialBackoffMs),
    rejectedRetryDelayMs: entry.rejectedRetryDelayMs ?? EXPORT_DEFAULTS.rejectedRetryDelayMs,
  };
  if (entry.type === 'jsonl-file') {
    const d = EXPORT_DEFAULTS.file;
    const file: ResolvedJsonlFileExporterConfig = {
      type: 'jsonl-file',
      ...base,
      maxBatchEvents: entry.maxBatchEvents ?? d.maxBatchEvents,
      path: path.resolve(entry.path),
      maxFileBytes: entry.maxFileBytes ?? d.maxFileBytes,
      maxFileAgeMs: entry.maxFileAgeMs ?? d.maxFileAgeMs,
      maxFiles: entry.maxFiles ?? d.maxFiles,
      format: entry.format ?? d.format,
    };
    return file;
  }
  const d = EXPORT_DEFAULTS.webhook;
  const webhook: ResolvedWebhookExporterConfig = {
    type: 'webhook',
    ...base,
    maxBatchEvents: entry.maxBatchEvents ?? d.maxBatchEvents,
    url: new URL(entry.url),
    ...files,
    maxBatchBytes: entry.maxBatchBytes ?? d.maxBatchBytes,
    requestTimeoutMs: entry.requestTimeoutMs ?? d.requestTimeoutMs,
  };
  return webhook;
}

function checkWebhookExporter(entry: Fields, at: string, problems: Problems): ExporterFiles {
  if (typeof entry.url === 'string' && entry.url !== '') checkUrl(entry.url, `${at}.url`, problems);
  const ca = readFile(entry, 'caFile', at, problems);
  if (ca !== undefined) certificatesIn(ca, `${at}.caFile`, problems);
  const clientCert = readFile(entry, 'clientCertFile', at, problems);
  const clientKey = readFile(entry, 'clientKeyFile', at, problems);
  if ((entry.clientCertFile === undefined) !== (entry.clientKeyFile === undefined)) {
    problems.add('ERR_AUDIT_EXPORT_INCOMPLETE_CLIENT_CERT', `${at}.${entry.clientCertFile === undefined ? 'clientCertFile' : 'clientKeyFile'}`, 'a client certificate needs both clientCertFile and clientKeyFile');
  }
  if (clientCert !== undefined && clientKey !== undefined) checkKeyPair(clientCert, clientKey, at, problems);
  let bearerToken: string | undefined;
  const token = readFile(entry, 'bearerTokenFile', at, problems);
  if (token !== undefined) {
    bearerToken = token.trim();
    if (bearerToken === '' || /[\r\n]/.test(bearerToken)) problems.add('ERR_AUDIT_EXPORT_BAD_TOKEN', `${at}.bearerTokenFile`, `${String(entry.bearerTokenFile)} must hold one line: the token`);
  }
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(clientCert !== undefined ? { clientCert } : {}),
    ...(clientKey !== undefined ? { clientKey } : {}),
    ...(bearerToken !== undefined ? { bearerToken } : {}),
  };
}

function checkStateDir(value: string, problems: Problems): string | undefined {
  const dir = path.resolve(value);
  const problem = writableDirectoryProblem(dir);
  if (problem) {
    problems.add('ERR_AUDIT_EXPORT_BAD_STATE_DIR', 'stateDir', problem);
    return undefined;
  }
  return dir;
}

function checkOutputFile(value: string, field: string, problems: Problems): string | undefined {
  const file = path.resolve(value);
  const stat = statOrUndefined(file);
  if (stat && !stat.isFile()) {
    problems.add('ERR_AUDIT_EXPORT_BAD_PATH', field, `${file} exists and is not a regular file`);
    return undefined;
  }
  const problem = writableDirectoryProblem(path.dirname(file));
  if (problem) {
    problems.add('ERR_AUDIT_EXPORT_BAD_PATH', field, problem);
    return undefined;
  }
  return file;
}

/** Why `dir` cannot hold files we create, or undefined: it exists writable, or could be created. */
function writableDirectoryProblem(dir: string): string | undefined {
  let existing = dir;
  while (!fs.existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const stat = statOrUndefined(existing);
  if (!stat?.isDirectory()) return `${existing} is not a directory, so ${dir} cannot be created`;
  try {
    fs.accessSync(existing, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    return `${existing} is not writable, so ${existing === dir ? 'no file can be created in it' : `${dir} cannot be created`}`;
  }
  return undefined;
}

function checkUrl(value: string, field: string, problems: Problems): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.add('ERR_AUDIT_EXPORT_BAD_URL', field, `${JSON.stringify(value)} is not a URL`);
    return undefined;
  }
  if (url.protocol !== 'https:') {
    problems.add('ERR_AUDIT_EXPORT_BAD_URL', field, `${url.protocol}// is not allowed: audit records leave only over https://`);
    return undefined;
  }
  if (url.username || url.password) {
    // A URL is logged and shown on /status; a secret in it would leak there.
    problems.add('ERR_AUDIT_EXPORT_BAD_URL', field, 'must not carry credentials: use bearerTokenFile or a client certificate');
    return undefined;
  }
  if (url.hash) {
    problems.add('ERR_AUDIT_EXPORT_BAD_URL', field, 'must not have a #fragment (it is never sent)');
    return undefined;
  }
  return url;
}

/** The content of the file `entry[key]` names, if it names one the schema accepted. */
function readFile(entry: Fields, key: keyof WebhookExporterConfig, at: string, problems: Problems): string | undefined {
  const value = entry[key];
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    return fs.readFileSync(value, 'utf8');
  } catch (err) {
    problems.add('ERR_AUDIT_EXPORT_UNREADABLE_FILE', `${at}.${key}`, `cannot read ${value}: ${(err as Error).message}`);
    return undefined;
  }
}

function certificatesIn(pem: string, field: string, problems: Problems): boolean {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    problems.add('ERR_AUDIT_EXPORT_BAD_CERTIFICATE', field, 'holds no PEM certificate');
    return false;
  }
  for (const block of blocks) {
    try {
      new crypto.X509Certificate(block);
    } catch (err) {
      problems.add('ERR_AUDIT_EXPORT_BAD_CERTIFICATE', field, `holds a certificate that does not parse: ${(err as Error).message}`);
      return false;
    }
  }
  return true;
}

function checkKeyPair(certPem: string, keyPem: string, at: string, problems: Problems): void {
  if (!certificatesIn(certPem, `${at}.clientCertFile`, problems)) return;
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(keyPem);
  } catch (err) {
    problems.add('ERR_AUDIT_EXPORT_BAD_CERTIFICATE', `${at}.clientKeyFile`, `holds no usable private key: ${(err as Error).message}`);
    return;
  }
  if (!new crypto.X509Certificate(certPem).checkPrivateKey(key)) {
    problems.add('ERR_AUDIT_EXPORT_BAD_CERTIFICATE', `${at}.clientKeyFile`, 'is not the private key of clientCertFile');
  }
}

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
