/**
 * Why: what the revocation benchmark makes of the rounds it measured, the results JSON (per
 * method, and per kind of client) and the lines it prints, apart from the measuring itself.
 */
import type { XdsProtocol } from '../control-plane/envoy/bootstrap';
import { machine, round, rssMiB, summarize, type EnvoyMemory } from './bench-support';
import type { Method } from './revocation-options';
import type { ClientKind } from './revocation-watches';

/** The issue's target: open streams closed within this long of a revocation. */
export const TARGET_MS = 2000;

export interface Round {
  readonly method: Method;
  readonly user: string;
  readonly client: ClientKind;
  /** From the start of the action; null when not closed within --close-timeout-ms. */
  readonly closedMs: number | null;
  /** The store and the control plane's reload and publish (the API call, for cli-revoke). */
  readonly publishedMs: number;
  /** Time spent in the control plane's pushes (publish()) during the round, and their CPU time. */
  readonly publishMs: number;
  readonly publishCpuMs: number;
  readonly ldsAckMs: number | null;
  /** CPU the edge Envoy used from the start of the action until it ACKed the listener. */
  readonly envoyCpuMs: number | null;
  readonly goawayMs: number | null;
  readonly collateralCloses: number;
  readonly stalledWatches: number;
}

/** How a run was set up and what it measured besides its rounds. */
export interface RunFacts {
  readonly machineAtStart: ReturnType<typeof machine>;
  readonly closeTimeoutMs: number;
  readonly watchers: number;
  readonly kubectlWatchers: number;
  readonly rawWatchers: number;
  readonly backgroundUsers: number;
  readonly backgroundCertified: number;
  readonly userShards: number;
  readonly xdsProtocol: XdsProtocol;
  readonly filterChains: number;
  readonly initialRefreshMs: number;
  readonly initialPublishMs: number;
  readonly initialPublishCpuMs: number;
  readonly initialLdsAckMs: number;
  readonly envoyMemory: { readonly atStart: EnvoyMemory; readonly withUsers: EnvoyMemory; readonly atEnd: EnvoyMemory };
  readonly controlPlaneRssAtStartMiB: number;
  readonly rounds: readonly Round[];
  readonly survivingWatches: number;
  /** The watches no round took access from. */
  readonly untargeted: number;
}

function roundStats(list: readonly Round[], closeTimeoutMs: number) {
  const closed = list.filter((r) => r.closedMs !== null).map((r) => r.closedMs!);
  const s = summarize(closed);
  const p50 = (f: (r: Round) => number | null) => {
    const v = list.map(f).filter((x): x is number => x !== null);
    return v.length ? round(summarize(v).p50, 0) : null;
  };
  return {
    rounds: list.length,
    closed: closed.length,
    notClosedWithinMs: { timeout: closeTimeoutMs, count: list.length - closed.length },
    withinTarget: closed.filter((ms) => ms <= TARGET_MS).length,
    closedMs: { min: round(s.min, 0), p50: round(s.p50, 0), p99: round(s.p99, 0), max: round(s.max, 0), mean: round(s.mean, 0) },
    p50Breakdown: {
      publishedMs: p50((r) => r.publishedMs),
      publishMs: p50((r) => r.publishMs),
      publishCpuMs: p50((r) => r.publishCpuMs),
      ldsAckMs: p50((r) => r.ldsAckMs),
      envoyCpuMs: p50((r) => r.envoyCpuMs),
      goawayMs: p50((r) => r.goawayMs),
    },
    collateralCloses: list.reduce((n, r) => n + r.collateralCloses, 0),
    stalledWatches: list.reduce((n, r) => n + r.stalledWatches, 0),
  };
}

/** The results JSON of one run. */
export function revocationReport(run: RunFacts) {
  const methods = [...new Set(run.rounds.map((r) => r.method))];
  const summary = methods.map((m) => {
    const list = run.rounds.filter((r) => r.method === m);
    const stats = (rounds: readonly Round[]) => roundStats(rounds, run.closeTimeoutMs);
    return { method: m, all: stats(list), raw: stats(list.filter((r) => r.client === 'raw')), kubectl: stats(list.filter((r) => r.client === 'kubectl')) };
  });
  return {
    benchmark: 'revocation',
    when: new Date().toISOString(),
    machine: { ...run.machineAtStart, loadAverageAtEnd: machine().loadAverage },
    target: { closedWithinMs: TARGET_MS, collateralCloses: 0 },
    setup: {
      watchers: run.watchers,
      kubectlWatchers: run.kubectlWatchers,
      rawWatchers: run.rawWatchers,
      backgroundUsers: run.backgroundUsers,
      backgroundCertified: run.backgroundCertified,
      userShards: run.userShards,
      xdsProtocol: run.xdsProtocol,
      filterChains: run.filterChains,
      edgeDrainTimeSeconds: 1,
      initialRefreshMs: Math.round(run.initialRefreshMs),
      initialPublishMs: Math.round(run.initialPublishMs),
      initialPublishCpuMs: Math.round(run.initialPublishCpuMs),
      initialLdsAckMs: Math.round(run.initialLdsAckMs),
    },
    memory: {
      edgeEnvoy: { atStart: run.envoyMemory.atStart, withUsers: run.envoyMemory.withUsers, atEnd: run.envoyMemory.atEnd },
      controlPlaneRssMiB: { atStart: run.controlPlaneRssAtStartMiB, atEnd: rssMiB(process.pid) },
    },
    summary,
    survivingWatches: run.survivingWatches,
    rounds: run.rounds.map((r) => ({ ...r, closedMs: r.closedMs === null ? null : round(r.closedMs, 0), publishedMs: round(r.publishedMs, 0), publishMs: round(r.publishMs, 0), publishCpuMs: round(r.publishCpuMs, 0), envoyCpuMs: r.envoyCpuMs === null ? null : round(r.envoyCpuMs, 0), ldsAckMs: r.ldsAckMs === null ? null : round(r.ldsAckMs, 0), goawayMs: r.goawayMs === null ? null : round(r.goawayMs, 0) })),
  };
}

export type RevocationReport = ReturnType<typeof revocationReport>;

/** What a run prints: how it was set up, then each method's rounds by kind of client. */
export function reportLines(run: RunFacts, report: RevocationReport): string[] {
  const { userShards, xdsProtocol, machineAtStart, watchers: users, backgroundUsers: background, backgroundCertified } = run;
  const { atStart: envoyMemoryAtStart, withUsers: envoyMemoryWithUsers, atEnd: envoyMemoryAtEnd } = run.envoyMemory;
  const out: string[] = [
    `user shards: ${userShards}${userShards === 1 ? ' (one listener with every chain)' : ''}, xDS: ${xdsProtocol}`,
    `${users} watchers (${report.setup.kubectlWatchers} kubectl, ${report.setup.rawWatchers} raw HTTP/2), ${background} background users (${backgroundCertified} with a certificate), ${report.setup.filterChains} filter chains at the edge`,
    `first push with every user: refresh ${report.setup.initialRefreshMs} ms (publish ${report.setup.initialPublishMs} ms, CPU ${report.setup.initialPublishCpuMs} ms), edge LDS ACK after ${report.setup.initialLdsAckMs} ms`,
    `edge Envoy RSS ${envoyMemoryAtStart.rssMiB} MiB at start, ${envoyMemoryWithUsers.rssMiB} MiB with the users, ${envoyMemoryAtEnd.rssMiB} MiB at the end (tcmalloc in use ${envoyMemoryAtStart.allocatedMiB} -> ${envoyMemoryWithUsers.allocatedMiB} -> ${envoyMemoryAtEnd.allocatedMiB} MiB)`,
  ];
  const line = (label: string, s: ReturnType<typeof roundStats>) =>
    s.rounds === 0
      ? null
      : `  ${label.padEnd(22)} n=${String(s.rounds).padStart(2)}  closed ms min ${s.closedMs.min}  p50 ${s.closedMs.p50}  p99 ${s.closedMs.p99}  max ${s.closedMs.max}  within ${TARGET_MS} ms: ${s.withinTarget}/${s.rounds}  ` +
        `not closed: ${s.notClosedWithinMs.count}  collateral closes: ${s.collateralCloses}  stalled: ${s.stalledWatches}  (p50 published ${s.p50Breakdown.publishedMs} ms, push ${s.p50Breakdown.publishMs} ms / CPU ${s.p50Breakdown.publishCpuMs} ms, LDS ACK ${s.p50Breakdown.ldsAckMs ?? '-'} ms, Envoy CPU ${s.p50Breakdown.envoyCpuMs ?? '-'} ms${s.p50Breakdown.goawayMs === null ? '' : `, GOAWAY ${s.p50Breakdown.goawayMs} ms`})`;
  for (const s of report.summary) {
    out.push(`${s.method}:`);
    for (const l of [line('all', s.all), line('raw HTTP/2 watch', s.raw), line('kubectl get -w', s.kubectl)]) if (l) out.push(l);
  }
  out.push(`watches still open at the end: ${run.survivingWatches} of ${run.untargeted} not targeted`);
  out.push(`machine: ${machineAtStart.cpus} cpus, load average at start ${machineAtStart.loadAverage.join(' ')}, at end ${report.machine.loadAverageAtEnd.join(' ')}`);
  return out;
}

/** One run's line in the comparison that ends a benchmark of several runs. */
export function comparisonLine(run: RunFacts, report: RevocationReport): string {
  const { userShards, xdsProtocol } = run;
  const envoyMemoryWithUsers = run.envoyMemory.withUsers;
  const revoke = report.summary.find((s) => s.method === 'revoke')?.all;
  return `user shards ${String(userShards).padStart(3)}, xDS ${xdsProtocol.padEnd(5)}: ${revoke ? `closed ms p50 ${revoke.closedMs.p50}  max ${revoke.closedMs.max}  within ${TARGET_MS} ms ${revoke.withinTarget}/${revoke.rounds}  (LDS ACK p50 ${revoke.p50Breakdown.ldsAckMs ?? '-'} ms, Envoy CPU p50 ${revoke.p50Breakdown.envoyCpuMs ?? '-'} ms)` : 'no revoke rounds'}  edge Envoy RSS ${envoyMemoryWithUsers.rssMiB} MiB with the users`;
}
