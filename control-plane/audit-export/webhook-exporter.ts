/**
 * Audit events POSTed to an HTTPS endpoint as audit.k8s.io/v1 EventList batches, the body
 * kube-apiserver's own audit webhook sends, so a SIEM or pipeline that takes the cluster's
 * audit webhook takes kubegate's unchanged.
 *
 * TLS 1.2 or newer, the server's certificate verified against the configured CA (or Node's
 * roots) and its name, optionally a client certificate. A batch counts as delivered only on a
 * 2xx answer. The answer decides the retry: no connection, a timeout, 5xx or 429 mean "down or
 * busy" (backoff, honouring Retry-After); any other status means the sink refused this batch,
 * which is logged with the sink's answer and retried after a longer delay, never dropped.
 */
import * as https from 'node:https';
import type { StoredAuditEvent } from '../audit/audit-event';
import type { ResolvedWebhookExporterConfig } from './audit-export-config';
import { type AuditSink, DeliveryError } from './audit-sink';
import { toKubernetesAuditEvent, toKubernetesAuditEventList } from './kubernetes-audit-event';

export interface WebhookExporterProps {
  readonly config: ResolvedWebhookExporterConfig;
}

/** How much of a sink's answer is kept for the log. */
const MAX_ANSWER_BYTES = 4096;
/** `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]}` and some. */
const LIST_OVERHEAD_BYTES = 96;

interface Answer {
  readonly status: number;
  readonly retryAfter?: string;
  readonly body: string;
}

export class WebhookExporter implements AuditSink {
  readonly kind = 'webhook' as const;
  readonly target: string;
  private readonly agent: https.Agent;

  constructor(private readonly props: WebhookExporterProps) {
    const c = props.config;
    this.target = c.url.href;
    // One connection, kept open: batches go one at a time, in order.
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 1,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      ...(c.ca !== undefined ? { ca: c.ca } : {}),
      ...(c.clientCert !== undefined ? { cert: c.clientCert, key: c.clientKey } : {}),
    });
  }

  /** As many events as fit in maxBatchBytes (at least one: a large event is sent alone). */
  batchLength(events: readonly StoredAuditEvent[]): number {
    let bytes = LIST_OVERHEAD_BYTES;
    for (let i = 0; i < events.length; i++) {
      const size = Buffer.byteLength(JSON.stringify(toKubernetesAuditEvent(events[i]!))) + 1;
      if (i > 0 && bytes + size > this.props.config.maxBatchBytes) return i;
      bytes += size;
    }
    return events.length;
  }

  async deliver(batch: readonly StoredAuditEvent[], signal: AbortSignal): Promise<void> {
    const body = Buffer.from(JSON.stringify(toKubernetesAuditEventList(batch)));
    const answer = await this.post(body, signal);
    if (answer.status >= 200 && answer.status < 300) return;
    if (answer.status === 429 || answer.status >= 500) {
      throw new DeliveryError('transient', 'ERR_AUDIT_EXPORT_SINK_UNAVAILABLE', `${this.target} answered ${answer.status}`, {
        status: answer.status,
        ...(answer.retryAfter !== undefined ? { retryAfterMs: retryAfterMs(answer.retryAfter) } : {}),
        body: answer.body,
      });
    }
    throw new DeliveryError('rejected', 'ERR_AUDIT_EXPORT_SINK_REJECTED', `${this.target} refused the batch with ${answer.status}`, { status: answer.status, body: answer.body });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private post(body: Buffer, signal: AbortSignal): Promise<Answer> {
    const c = this.props.config;
    return new Promise<Answer>((resolve, reject) => {
      const req = https.request(
        c.url,
        {
          method: 'POST',
          agent: this.agent,
          signal,
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            'user-agent': 'kubegate-audit-export',
            ...(c.bearerToken !== undefined ? { authorization: `Bearer ${c.bearerToken}` } : {}),
          },
        },
        (res) => {
          const kept: Buffer[] = [];
          let keptBytes = 0;
          res.on('data', (chunk: Buffer) => {
            // The rest is read and dropped, so the connection can be used again.
            if (keptBytes < MAX_ANSWER_BYTES) {
              kept.push(chunk);
              keptBytes += chunk.length;
            }
          });
          res.on('error', (err) => fail(err));
          res.on('end', () => {
            clearTimeout(timer);
            const retryAfter = res.headers['retry-after'];
            resolve({
              status: res.statusCode ?? 0,
              ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
              body: Buffer.concat(kept).subarray(0, MAX_ANSWER_BYTES).toString('utf8'),
            });
          });
        },
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (signal.aborted) return reject(new DeliveryError('transient', 'ERR_AUDIT_EXPORT_ABORTED', 'the exporter is stopping', { cause: err }));
        if (err instanceof DeliveryError) return reject(err);
        const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
        reject(new DeliveryError('transient', 'ERR_AUDIT_EXPORT_SINK_UNREACHABLE', `${this.target}: ${code}: ${err.message}`, { cause: err }));
      };
      const timer = setTimeout(() => {
        req.destroy(new DeliveryError('transient', 'ERR_AUDIT_EXPORT_SINK_TIMEOUT', `${this.target} did not answer within ${c.requestTimeoutMs} ms`));
      }, c.requestTimeoutMs);
      req.on('error', fail);
      req.end(body);
    });
  }
}

/** Retry-After as seconds or an HTTP date, in ms from now. */
function retryAfterMs(value: string): number | undefined {
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
