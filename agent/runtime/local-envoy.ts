/**
 * The in-cluster Envoy beside the agent, through its admin interface on the pod's loopback: how
 * many tunnels it holds to the edge and how many requests are in flight on them, and the
 * graceful drain that lets a pod leave without failing a request. A drained Envoy tells the edge
 * (HTTP/2 GOAWAY on every tunnel) to send new requests over other tunnels, such as those of the
 * pod that replaces it, while the requests already on its tunnels finish.
 */
import { TUNNEL_STAT_PREFIX } from '../protocol/identities';

export interface TunnelStats {
  /** Tunnels this Envoy holds to the edge (each an accepted connection on its tunnel listener). */
  readonly tunnels: number;
  /** Requests in flight on them (a watch or exec counts as one until it ends). */
  readonly activeRequests: number;
}

/** The Envoy's admin interface did not answer as expected. */
export class LocalEnvoyError extends Error {
  readonly code = 'ERR_LOCAL_ENVOY';
  constructor(message: string) {
    super(message);
    this.name = 'LocalEnvoyError';
  }
}

const CX_ACTIVE = `http.${TUNNEL_STAT_PREFIX}.downstream_cx_active`;
const RQ_ACTIVE = `http.${TUNNEL_STAT_PREFIX}.downstream_rq_active`;

export class LocalEnvoy {
  private readonly base: string;

  /** @param address HOST:PORT of the admin interface */
  constructor(address: string, private readonly timeoutMs = 2_000) {
    this.base = `http://${address}`;
  }

  async tunnelStats(): Promise<TunnelStats> {
    const filter = encodeURIComponent(`^http\\.${TUNNEL_STAT_PREFIX}\\.downstream_(cx|rq)_active$`);
    const body = await this.call('GET', `/stats?format=json&filter=${filter}`);
    let stats: { name: string; value: number }[];
    try {
      stats = (JSON.parse(body) as { stats?: { name: string; value: number }[] }).stats ?? [];
    } catch {
      throw new LocalEnvoyError(`the Envoy admin at ${this.base} answered /stats with something other than JSON`);
    }
    const value = (name: string) => stats.find((s) => s.name === name)?.value ?? 0;
    // Before the tunnel listener exists the stats are missing: no tunnel, nothing in flight.
    return { tunnels: value(CX_ACTIVE), activeRequests: value(RQ_ACTIVE) };
  }

  /** The Envoy's node id (from /server_info): its tunnels are registered at the edge under it. */
  async nodeId(): Promise<string> {
    const body = await this.call('GET', '/server_info');
    let id: unknown;
    try {
      id = (JSON.parse(body) as { node?: { id?: unknown } }).node?.id;
    } catch {
      throw new LocalEnvoyError(`the Envoy admin at ${this.base} answered /server_info with something other than JSON`);
    }
    if (typeof id !== 'string' || !id) throw new LocalEnvoyError(`the Envoy at ${this.base} names no node id in /server_info`);
    return id;
  }

  /** Starts a graceful drain of every listener; Envoy keeps running (skip_exit) until stopped. */
  async drain(): Promise<void> {
    await this.call('POST', '/drain_listeners?graceful&skip_exit');
  }

  private async call(method: 'GET' | 'POST', pathAndQuery: string): Promise<string> {
    let res: Response;
    try {
      res = await fetch(this.base + pathAndQuery, { method, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new LocalEnvoyError(`the Envoy admin at ${this.base} cannot be reached: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
    const body = await res.text();
    if (res.status !== 200) throw new LocalEnvoyError(`the Envoy admin at ${this.base} answered ${method} ${pathAndQuery.split('?')[0]} with ${res.status}: ${body.trim().slice(0, 200)}`);
    return body;
  }
}

export interface DrainOutcome {
  /** Whether every request in flight finished before the deadline. */
  readonly drained: boolean;
  /** Requests still in flight when the wait ended (long watches and execs, typically). */
  readonly activeLeft: number;
  readonly ms: number;
}

export interface DrainOptions {
  readonly timeoutMs: number;
  /** @default 200 */
  readonly pollMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Drains the Envoy and waits until no request is in flight on its tunnels, or the deadline. The
 * caller stops the pod after it: what is still open then (a watch) ends, and its client
 * reconnects through the tunnels of another pod.
 */
export async function drainLocalEnvoy(envoy: LocalEnvoy, options: DrainOptions): Promise<DrainOutcome> {
  const now = options.now ?? Date.now;
  const started = now();
  await envoy.drain();
  let active = Number.POSITIVE_INFINITY;
  for (;;) {
    try {
      active = (await envoy.tunnelStats()).activeRequests;
    } catch {
      // The Envoy went away under us: nothing is left in flight on it.
      active = 0;
    }
    if (active === 0 || now() - started >= options.timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
  }
  return { drained: active === 0, activeLeft: active, ms: now() - started };
}
