/**
 * The agent's health endpoints for the kubelet: /healthz (the process runs) and /readyz (it can
 * serve: a session with the control plane, and its in-cluster Envoy holds tunnels to the edge;
 * not while the pod drains), and /drained for the in-cluster Envoy's preStop hook: it answers
 * once the agent, stopping too, has drained that Envoy, so the kubelet stops the Envoy only
 * then. Readiness is what lets a rolling update remove the old agent pod only once the new one
 * carries requests, so the cluster is never without a path. Nothing here changes state: asking
 * /drained of a running agent only waits (bounded), it never starts a drain.
 */
import * as http from 'node:http';
import type { AgentLogger } from '../log/agent-logger';

export interface HealthServerProps {
  readonly host: string;
  readonly port: number;
  /** undefined when ready, else why not (sent with the 503). */
  readonly notReadyBecause: () => Promise<string | undefined>;
  /** Resolves once the agent's drain is over, or after maxMs. */
  readonly drained: (maxMs: number) => Promise<void>;
  /** The longest /drained waits. */
  readonly drainedMaxMs: number;
  readonly logger: AgentLogger;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(props: HealthServerProps): Promise<HealthServer> {
  let lastReason: string | undefined;
  const server = http.createServer((req, res) => {
    const send = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET');
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return send(200, 'ok');
    if (path === '/drained') {
      props.drained(props.drainedMaxMs).then(() => send(200, 'drained'), (err: Error) => send(500, err.message));
      return;
    }
    if (path !== '/readyz') return send(404, 'try /healthz, /readyz or /drained');
    props.notReadyBecause().then(
      (reason) => {
        // Logged when readiness changes, not on every probe.
        if (reason !== lastReason) props.logger.info(reason ? 'not ready' : 'ready', reason ? { reason } : {});
        lastReason = reason;
        send(reason ? 503 : 200, reason ?? 'ok');
      },
      (err: Error) => send(503, `readiness could not be judged: ${err.message}`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(props.port, props.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : props.port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
