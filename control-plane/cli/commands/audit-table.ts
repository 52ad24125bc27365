/**
 * Audit events as a table for people: one line per event, the columns an auditor scans (when,
 * who, where, what, on which object, the outcome). Lines are written as events arrive
 * (`--follow`), so columns cannot be sized from all rows up front: each column is as wide as
 * the widest cell seen so far, which for a one-shot listing (one batch) is an aligned table.
 */
import type { StoredAuditEvent } from '../../audit/audit-event';

export const AUDIT_TABLE_HEADERS = ['time', 'user', 'cluster', 'stage', 'verb', 'resource', 'namespace/name', 'decision', 'status'] as const;

/** resource[.group][/subresource], or the path for requests that name no resource (/version). */
function resource(e: StoredAuditEvent): string {
  if (!e.resource) return e.path || '-';
  return `${e.resource}${e.apiGroup ? `.${e.apiGroup}` : ''}${e.subresource ? `/${e.subresource}` : ''}`;
}

/** A record the cluster reported says so: a request then has two completions, the edge's and its cluster's. */
function stage(e: StoredAuditEvent): string {
  return e.reportedBy ? `${e.stage} (${e.reportedBy})` : e.stage;
}

function object(e: StoredAuditEvent): string {
  if (e.namespace && e.name) return `${e.namespace}/${e.name}`;
  if (e.namespace) return `${e.namespace}/`;
  return e.name || '-';
}

/**
 * `kubegate audit incomplete`: one line per request whose completion is missing. Every such
 * line would say stage decision, decision allow and no status, so those columns give way to
 * the request id, which is what one looks up next (`kubegate audit --request-id ID`).
 */
export const INCOMPLETE_TABLE_HEADERS = ['time', 'request id', 'user', 'cluster', 'verb', 'resource', 'namespace/name'] as const;

export function incompleteTableRow(e: StoredAuditEvent): string[] {
  return [e.time, e.requestId || '-', e.user || '-', e.cluster || '-', e.verb || '-', resource(e), object(e)];
}

export function auditTableRow(e: StoredAuditEvent): string[] {
  return [e.time, e.user || '-', e.cluster || '-', stage(e), e.verb || '-', resource(e), object(e), e.decision, e.status === undefined ? '-' : String(e.status)];
}

export class AuditTableWriter {
  private widths: number[] = AUDIT_TABLE_HEADERS.map((h) => h.length);
  private headerWritten = false;

  constructor(private readonly write: (text: string) => void) {}

  /** Writes the events' lines (the header before the first). */
  add(events: readonly StoredAuditEvent[]): void {
    if (events.length === 0) return;
    const rows = events.map(auditTableRow);
    for (const row of rows) row.forEach((cell, i) => (this.widths[i] = Math.max(this.widths[i]!, cell.length)));
    const lines = rows.map((r) => this.line(r));
    if (!this.headerWritten) {
      lines.unshift(this.line(AUDIT_TABLE_HEADERS.map((h) => h.toUpperCase())));
      this.headerWritten = true;
    }
    this.write(lines.join('\n') + '\n');
  }

  private line(cells: readonly string[]): string {
    return cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(this.widths[i]!)))
      .join('   ')
      .trimEnd();
  }
}
