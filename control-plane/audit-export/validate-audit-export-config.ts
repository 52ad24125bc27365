/**
 * Checks an audit export config before anything starts, and names every problem at once with a
 * stable code and where it is (`exporters[1].caFile`), so a bad URL or an unreadable CA file
 * is found at startup rather than as an endless retry later. Files the exporters need (CA,
 * client certificate and key, token) are read and parsed here; their contents go into the
 * resolved config.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type AuditExportConfig,
  EXPORT_DEFAULTS,
  type ResolvedAuditExportConfig,
  type ResolvedExporterConfig,
  type ResolvedJsonlFileExporterConfig,
  type ResolvedWebhookExporterConfig,
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

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const BASE_FIELDS = ['type', 'name', 'maxBatchEvents', 'initialBackoffMs', 'maxBackoffMs', 'rejectedRetryDelayMs'];
const FILE_FIELDS = [...BASE_FIELDS, 'path', 'maxFileBytes', 'maxFileAgeMs', 'maxFiles', 'format'];
const WEBHOOK_FIELDS = [...BASE_FIELDS, 'url', 'caFile', 'clientCertFile', 'clientKeyFile', 'bearerTokenFile', 'maxBatchBytes', 'requestTimeoutMs'];

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

function check(config: unknown): { problems: readonly AuditExportConfigProblem[]; resolved?: ResolvedAuditExportConfig } {
  const problems = new Problems();
  if (!isObject(config)) {
    problems.add('ERR_AUDIT_EXPORT_NOT_AN_OBJECT', '', 'the audit export configuration must be an object');
    return { problems: problems.list };
  }
  unknownFields(config, ['stateDir', 'exporters', 'pollIntervalMs'], '', problems);
  const stateDir = checkStateDir(config.stateDir, problems);
  const pollIntervalMs = number(config, 'pollIntervalMs', '', { min: 1, fallback: EXPORT_DEFAULTS.pollIntervalMs }, problems);
  const exporters: ResolvedExporterConfig[] = [];
  const list = config.exporters ?? [];
  if (!Array.isArray(list)) {
    problems.add('ERR_AUDIT_EXPORT_NOT_AN_OBJECT', 'exporters', 'must be a list of exporters');
  } else {
    const names = new Map<string, number>();
    const files = new Map<string, number>();
    list.forEach((entry: unknown, i: number) => {
      const at = `exporters[${i}]`;
      if (!isObject(entry)) {
        problems.add('ERR_AUDIT_EXPORT_NOT_AN_OBJECT', at, 'an exporter must be an object');
        return;
      }
      const name = entry.name;
      if (typeof name === 'string' && names.has(name)) {
        problems.add('ERR_AUDIT_EXPORT_DUPLICATE_NAME', `${at}.name`, `"${name}" is also the name of exporters[${names.get(name)}]; each exporter needs its own position file`);
      } else if (typeof name === 'string') names.set(name, i);
      let resolved: ResolvedExporterConfig | undefined;
      if (entry.type === 'jsonl-file') resolved = checkFileExporter(entry, at, problems);
      else if (entry.type === 'webhook') resolved = checkWebhookExporter(entry, at, problems);
      else problems.add('ERR_AUDIT_EXPORT_BAD_TYPE', `${at}.type`, `${JSON.stringify(entry.type)} is not an exporter type: use jsonl-file or webhook`);
      if (resolved?.type === 'jsonl-file') {
        // Two exporters appending to one file would interleave and rotate each other's lines.
        if (files.has(resolved.path)) problems.add('ERR_AUDIT_EXPORT_PATH_CONFLICT', `${at}.path`, `${resolved.path} is also written by exporters[${files.get(resolved.path)}]`);
        else files.set(resolved.path, i);
      }
      if (resolved) exporters.push(resolved);
    });
  }
  if (problems.list.length > 0 || stateDir === undefined) return { problems: problems.list };
  return { problems: [], resolved: { stateDir, pollIntervalMs, exporters } };
}

function checkBase(entry: Fields, at: string, defaultBatch: number, problems: Problems) {
  if (typeof entry.name !== 'string' || !NAME.test(entry.name)) {
    problems.add('ERR_AUDIT_EXPORT_BAD_NAME', `${at}.name`, `${JSON.stringify(entry.name)} is not an exporter name: lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit`);
  }
  const initialBackoffMs = number(entry, 'initialBackoffMs', at, { min: 1, fallback: EXPORT_DEFAULTS.initialBackoffMs }, problems);
  const maxBackoffMs = number(entry, 'maxBackoffMs', at, { min: 1, fallback: Math.max(EXPORT_DEFAULTS.maxBackoffMs, initialBackoffMs) }, problems);
  if (maxBackoffMs < initialBackoffMs) problems.add('ERR_AUDIT_EXPORT_BAD_NUMBER', `${at}.maxBackoffMs`, `${maxBackoffMs} is less than initialBackoffMs (${initialBackoffMs})`);
  return {
    name: String(entry.name),
    maxBatchEvents: number(entry, 'maxBatchEvents', at, { min: 1, fallback: defaultBatch }, problems),
    initialBackoffMs,
    maxBackoffMs,
    rejectedRetryDelayMs: number(entry, 'rejectedRetryDelayMs', at, { min: 1, fallback: EXPORT_DEFAULTS.rejectedRetryDelayMs }, problems),
  };
}

function checkFileExporter(entry: Fields, at: string, problems: Problems): ResolvedJsonlFileExporterConfig | undefined {
  unknownFields(entry, FILE_FIELDS, at, problems);
  const base = checkBase(entry, at, EXPORT_DEFAULTS.file.maxBatchEvents, problems);
  const d = EXPORT_DEFAULTS.file;
  const maxFileBytes = number(entry, 'maxFileBytes', at, { min: 1, fallback: d.maxFileBytes }, problems);
  const maxFileAgeMs = number(entry, 'maxFileAgeMs', at, { min: 0, fallback: d.maxFileAgeMs }, problems);
  const maxFiles = number(entry, 'maxFiles', at, { min: 0, fallback: d.maxFiles }, problems);
  const format = entry.format ?? d.format;
  if (format !== 'kubegate' && format !== 'kubernetes') problems.add('ERR_AUDIT_EXPORT_BAD_FORMAT', `${at}.format`, `${JSON.stringify(format)} is not a line format: use kubegate or kubernetes`);
  const file = checkOutputFile(entry.path, `${at}.path`, problems);
  if (file === undefined) return undefined;
  return { type: 'jsonl-file', ...base, path: file, maxFileBytes, maxFileAgeMs, maxFiles, format: format as ResolvedJsonlFileExporterConfig['format'] };
}

function checkWebhookExporter(entry: Fields, at: string, problems: Problems): ResolvedWebhookExporterConfig | undefined {
  unknownFields(entry, WEBHOOK_FIELDS, at, problems);
  const base = checkBase(entry, at, EXPORT_DEFAULTS.webhook.maxBatchEvents, problems);
  const d = EXPORT_DEFAULTS.webhook;
  const maxBatchBytes = number(entry, 'maxBatchBytes', at, { min: 1, fallback: d.maxBatchBytes }, problems);
  const requestTimeoutMs = number(entry, 'requestTimeoutMs', at, { min: 1, fallback: d.requestTimeoutMs }, problems);
  const url = checkUrl(entry.url, `${at}.url`, problems);
  const ca = readPem(entry, 'caFile', at, problems);
  if (ca !== undefined) certificatesIn(ca, `${at}.caFile`, problems);
  const clientCert = readPem(entry, 'clientCertFile', at, problems);
  const clientKey = readPem(entry, 'clientKeyFile', at, problems);
  if ((entry.clientCertFile === undefined) !== (entry.clientKeyFile === undefined)) {
    problems.add('ERR_AUDIT_EXPORT_INCOMPLETE_CLIENT_CERT', `${at}.${entry.clientCertFile === undefined ? 'clientCertFile' : 'clientKeyFile'}`, 'a client certificate needs both clientCertFile and clientKeyFile');
  }
  if (clientCert !== undefined && clientKey !== undefined) checkKeyPair(clientCert, clientKey, at, problems);
  let bearerToken: string | undefined;
  const tokenFile = readPem(entry, 'bearerTokenFile', at, problems);
  if (tokenFile !== undefined) {
    bearerToken = tokenFile.trim();
    if (bearerToken === '' || /[\r\n]/.test(bearerToken)) problems.add('ERR_AUDIT_EXPORT_BAD_TOKEN', `${at}.bearerTokenFile`, `${String(entry.bearerTokenFile)} must hold one line: the token`);
  }
  if (url === undefined) return undefined;
  return {
    type: 'webhook',
    ...base,
    url,
    ...(ca !== undefined ? { ca } : {}),
    ...(clientCert !== undefined ? { clientCert } : {}),
    ...(clientKey !== undefined ? { clientKey } : {}),
    ...(bearerToken !== undefined ? { bearerToken } : {}),
    maxBatchBytes,
    requestTimeoutMs,
  };
}

function checkStateDir(value: unknown, problems: Problems): string | undefined {
  if (typeof value !== 'string' || value === '') {
    problems.add('ERR_AUDIT_EXPORT_BAD_STATE_DIR', 'stateDir', 'is required: the directory where exporters keep their positions');
    return undefined;
  }
  const dir = path.resolve(value);
  const problem = writableDirectoryProblem(dir);
  if (problem) {
    problems.add('ERR_AUDIT_EXPORT_BAD_STATE_DIR', 'stateDir', problem);
    return undefined;
  }
  return dir;
}

function checkOutputFile(value: unknown, field: string, problems: Problems): string | undefined {
  if (typeof value !== 'string' || value === '') {
    problems.add('ERR_AUDIT_EXPORT_BAD_PATH', field, 'is required: the file events are written to');
    return undefined;
  }
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

function checkUrl(value: unknown, field: string, problems: Problems): URL | undefined {
  if (typeof value !== 'string' || value === '') {
    problems.add('ERR_AUDIT_EXPORT_BAD_URL', field, 'is required: the https:// URL EventList batches are POSTed to');
    return undefined;
  }
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

function readPem(entry: Fields, key: string, at: string, problems: Problems): string | undefined {
  const value = entry[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    problems.add('ERR_AUDIT_EXPORT_UNREADABLE_FILE', `${at}.${key}`, 'must be a file path');
    return undefined;
  }
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

function number(entry: Fields, key: string, at: string, rule: { min: number; fallback: number }, problems: Problems): number {
  const value = entry[key];
  if (value === undefined) return rule.fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < rule.min) {
    problems.add('ERR_AUDIT_EXPORT_BAD_NUMBER', at ? `${at}.${key}` : key, `${JSON.stringify(value)} must be a whole number of at least ${rule.min}`);
    return rule.fallback;
  }
  return value;
}

function unknownFields(entry: Fields, known: readonly string[], at: string, problems: Problems): void {
  for (const key of Object.keys(entry)) {
    if (!known.includes(key)) problems.add('ERR_AUDIT_EXPORT_UNKNOWN_FIELD', at ? `${at}.${key}` : key, `is not a field here (known: ${known.join(', ')})`);
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
