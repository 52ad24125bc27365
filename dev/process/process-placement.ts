/**
 * Where a harness runs its processes and from where it probes them. On the host (the default)
 * that is this process's own network; in a firewalled site (dev/netns) it is a
 * network namespace that nothing can connect into, so the harness must both start the
 * processes inside and look at them from inside. Components take a placement instead of
 * calling spawn and https directly, and so run unchanged in either place.
 */
import { httpsRequest, type HttpsRequestOptions, type HttpsResponse, type TlsClientMaterial } from './https-probe';
import type { ManagedProcess, ManagedProcessProps } from './managed-process';
import { startReadyProcess, type Readiness } from './start-ready-process';

export interface PlacedRequestOptions extends HttpsRequestOptions {
  /** Client certificate and CA, for https:// URLs. @default none (plain http, or server-only TLS) */
  readonly tls?: TlsClientMaterial;
}

export interface ProcessPlacement {
  /** For logs and errors: 'host' or 'site <name>'. */
  readonly description: string;
  /** Starts a process here and resolves once `readiness` passes (stopping it if it never does). */
  startReady(props: ManagedProcessProps, readiness: Readiness): Promise<ManagedProcess>;
  /** One HTTP(S) request made from here (readiness checks, the harness's own API calls). */
  request(url: string, options?: PlacedRequestOptions): Promise<HttpsResponse>;
  /** The command line that runs `binary args` here (e.g. kubectl as a cluster's admin). */
  command(binary: string, args: readonly string[]): { binary: string; args: string[] };
}

/** Processes in this machine's own network, probed directly. */
export const HOST_PLACEMENT: ProcessPlacement = {
  description: 'host',
  startReady: startReadyProcess,
  request: (url, options = {}) => httpsRequest(url, options.tls, options),
  command: (binary, args) => ({ binary, args: [...args] }),
};

/** GET with a client certificate from `placement`: the shape every readiness probe uses. */
export function placedGet(placement: ProcessPlacement, url: string, tls: TlsClientMaterial, timeoutMs = 2_000): Promise<HttpsResponse> {
  return placement.request(url, { tls, timeoutMs });
}
