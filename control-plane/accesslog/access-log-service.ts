/**
 * Envoy's gRPC access-log service (envoy.service.accesslog.v3.AccessLogService): a long-lived
 * client stream per Envoy on which batches of completed requests arrive.
 */
import * as grpc from '@grpc/grpc-js';
import { grpcService } from '../proto/envoy-protos';
import type { Logger } from '../log/logger';
import { toAccessLogRecord, type AccessLogRecord } from './access-log-record';

export interface AccessLogWriter {
  writeBatch(records: readonly AccessLogRecord[]): void;
}

export function addAccessLogService(server: grpc.Server, writer: AccessLogWriter, logger: Logger): void {
  const service = grpcService('envoy.service.accesslog.v3.AccessLogService').service;
  server.addService(service, {
    StreamAccessLogs: (call: grpc.ServerReadableStream<Record<string, any>, object>, callback: grpc.sendUnaryData<object>) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      // The identifier comes on the first message of a stream only.
      let edge = '';
      call.on('data', (message) => {
        if (message.identifier) edge = message.identifier.log_name || message.identifier.node?.id || edge;
        const records: AccessLogRecord[] = [];
        for (const entry of message.http_logs?.log_entry ?? []) {
          try {
            records.push(toAccessLogRecord(entry, edge));
          } catch (err) {
            logger.error('could not record access-log entry', { edge, error: (err as Error).message });
          }
        }
        writer.writeBatch(records);
      });
      call.on('end', () => callback(null, {}));
      call.on('error', (err) => logger.warn('access-log stream ended with error', { edge, error: err.message }));
    },
  });
}
