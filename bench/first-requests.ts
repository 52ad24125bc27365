/**
 * A user's first request to a tunnelled cluster waits while the cluster's agent creates the
 * user's ServiceAccount and bindings (control-plane/agent-gateway/agent-hub.ts). This times that
 * first request against the same user's second one, for users the agent has never seen.
 *
 * Users go one at a time, so each first request has the machine to itself; both requests open
 * a new TLS connection, so the difference between them is the ServiceAccount's creation (and
 * the control plane's first decision for that user), not a handshake.
 */
import * as path from 'node:path';
import { EDGE_NODE_ID } from '../dev/stack/local-stack';
import { BenchUserCertificates, bulkCreateUsers, waitForAck } from './bench-support';
import { getOnce } from './load';
import { GROUP, SMALL_GET_PATH, type TunnelBench } from './tunnel-bench-setup';

export interface FirstRequest {
  readonly user: string;
  readonly firstMs: number;
  readonly firstStatus: number;
  readonly secondMs: number;
  readonly secondStatus: number;
}

export async function measureFirstRequests(bench: TunnelBench, opts: { users: number; onProgress?: (done: number) => void }): Promise<FirstRequest[]> {
  const { stack } = bench;
  const names = Array.from({ length: opts.users }, (_, i) => `fresh-${i}`);
  // In one batch and one publish: the edge must know every user (their filter chain) before
  // the first one is timed, or the time would include the xDS update.
  await bulkCreateUsers(path.join(stack.props.stateDir, 'kubegate.db'), names.map((name) => ({ name, groups: [GROUP] })));
  const t = performance.now();
  await stack.controlPlane.refresh();
  await waitForAck(stack.controlPlane.cache, EDGE_NODE_ID, stack.controlPlane.cache.getSnapshot(EDGE_NODE_ID)!, t, { ldsOnly: true, timeoutMs: 60_000 });

  const certificates = new BenchUserCertificates(stack.pki.userCa);
  const results: FirstRequest[] = [];
  for (const user of names) {
    const target = bench.tunnel(SMALL_GET_PATH, bench.edgeClient(certificates.issue(user, 3_600_000), user));
    const first = await getOnce(target);
    const second = await getOnce(target);
    results.push({ user, firstMs: first.ms, firstStatus: first.status, secondMs: second.ms, secondStatus: second.status });
    opts.onProgress?.(results.length);
  }
  return results;
}
