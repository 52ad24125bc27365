/**
 * Envoy's gRPC access-log service (envoy.service.accesslog.v3.AccessLogService): a long-lived
 * client stream per Envoy on which batches of completed requests arrive. The edge streams to
 * the internal port; the clusters' in-cluster Envoys to the agent port, where each stream is
 * accepted only from a cluster's certificate (agents/agent-gateway.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { grpcService } from '../proto/envoy-protos';
import type { Logger } from '../log/logger';
import { toAccessLogRecord, type AccessLogRecord } from './access-log-record';

export interface AccessLogWriter {
  writeBatch(records: readonly AccessLogRecord[]): void;
}

export type AccessLogCall = grpc.ServerReadableStream<Record<string, any>, object>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Why a stream is not accepted: it ends at once with this status, before any entry is read. */
export interface AccessLogRefusal {
  readonly code: grpc.status;
  readonly details: string;
}

/**
 * Decides, when a stream opens, where its entries go: a writer, or a refusal. The peer of the
 * call (its verified certificate) is known then; nothing the stream carries is.
 */
export type AccessLogStreamOpener = (call: AccessLogCall) => AccessLogWriter | AccessLogRefusal;

/** Every stream's entries go to `writer`: the edge's port, where the TLS handshake already checked the peer. */
export function addAccessLogService(server: grpc.Server, writer: AccessLogWriter, logger: Logger): void {
  serveAccessLogs(server, () => writer, logger);
}

export function serveAccessLogs(server: grpc.Server, open: AccessLogStreamOpener, logger: Logger): void {
  const service = grpcService('envoy.service.accesslog.v3.AccessLogService').service;
  server.addService(service, {
    StreamAccessLogs: (call: AccessLogCall, callback: grpc.sendUnaryData<object>) => {
      const opened = open(call);
      if ('code' in opened) {
        callback({ code: opened.code, details: opened.details });
        return;
      }
      // The identifier comes on the first message of a stream only.
      let source = '';
      call.on('data', (message) => {
        if (message.identifier) source = message.identifier.log_name || message.identifier.node?.id || source;
        opened.writeBatch(accessLogRecords(message, source, logger));
      });
      call.on('end', () => callback(null, {}));
      call.on('error', (err) => logger.warn('access-log stream ended with error', { source, error: err.message }));
    },
  });
}

/** The entries of one StreamAccessLogsMessage; one that cannot be read is logged and skipped. */
function accessLogRecords(message: Record<string, any>, source: string, logger: Logger): AccessLogRecord[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const records: AccessLogRecord[] = [];
  for (const entry of message.http_logs?.log_entry ?? []) {
    try {
      records.push(toAccessLogRecord(entry, source));
    } catch (err) {
      logger.error('could not record access-log entry', { source, error: (err as Error).message });
    }
  }
  return records;
}
