/**
 * The control plane's status endpoint: liveness, readiness, what each Envoy has accepted or
 * rejected, and Prometheus metrics. Read-only. On loopback by default (like Envoy's admin
 * port); in a pod it listens on the pod's address, for the kubelet's probes and for scrapes,
 * and the hub's NetworkPolicy decides who reaches it.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS_CONTENT_TYPE } from '../metrics/scraped-metrics';

export interface StatusSources {
  status(): object;
  metricsText(): Promise<string>;
  /**
   * Whether this replica can decide requests: it has built and published a configuration from
   * the store. Until then /readyz answers 503 with the reason, so no traffic is sent its way.
   * @default always ready
   */
  notReadyReason?(): string | undefined;
}

export interface RunningStatusServer {
  readonly port: number;
  stop(): Promise<void>;
}

export function startStatusServer(sources: StatusSources, port = 0, host = '127.0.0.1'): Promise<RunningStatusServer> {
  const server = http.createServer((req, res) => {
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'only GET\n');
    switch (req.url) {
      case '/healthz':
        return send(200, 'text/plain', 'ok\n');
      case '/readyz': {
        const reason = sources.notReadyReason?.();
        return reason ? send(503, 'text/plain', `not ready: ${reason}\n`) : send(200, 'text/plain', 'ready\n');
      }
      case '/status':
        return send(200, 'application/json', JSON.stringify(sources.status(), null, 2) + '\n');
      case '/metrics':
        return void sources.metricsText().then(
          (text) => send(200, METRICS_CONTENT_TYPE, text),
          (err: Error) => send(500, 'text/plain', `could not collect metrics: ${err.message}\n`),
        );
      default:
        return send(404, 'text/plain', 'try /healthz, /readyz, /status or /metrics\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        stop: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
