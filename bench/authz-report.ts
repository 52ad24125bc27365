/**
 * Why: what the authz benchmark makes of its measurements, the results JSON and the lines it
 * prints, kept apart from the run that measures them.
 */
import { GROUPS } from './authz-support';
import { machine, type EnvoyMemory } from './bench-support';
import { formatComparison, type Comparison } from './load-run-support';
import type { CheckMeasurements } from './authz-check-rates';

interface MemorySample {
  readonly envoy: EnvoyMemory;
  readonly controlPlaneRssMiB: number;
}

/** What a run measured, and the options it reports with them. */
export interface AuthzFacts extends CheckMeasurements {
  readonly machineAtStart: ReturnType<typeof machine>;
  readonly users: number;
  readonly certificates: number;
  readonly filterChains: number;
  readonly ruleCount: number;
  readonly policyApplyMs: number;
  readonly userInsertMs: number;
  readonly publishMs: number;
  readonly ldsAckMs: number;
  readonly allAckMs: number;
  readonly warmMs: number;
  readonly onePublishMs: number;
  readonly oneLdsAckMs: number;
  readonly memoryBefore: MemorySample;
  readonly memoryAfter: MemorySample;
  readonly checkUsers: number;
  readonly checkConnections: number;
  readonly checkSeconds: number;
  readonly apiPath: string;
  readonly benchUser: string;
  readonly benchUserGroups: readonly string[];
  readonly noCheckStartMs: number;
  readonly noCheckMemory: EnvoyMemory;
  readonly envoyBytesPerCheckCall: number | null;
  readonly comparisons: readonly Comparison[];
}

/** The results JSON. */
export function authzReport(facts: AuthzFacts) {
  const { machineAtStart, users, ruleCount, policyApplyMs, userInsertMs, publishMs, ldsAckMs, allAckMs, warmMs, onePublishMs, oneLdsAckMs, memoryBefore, memoryAfter } = facts;
  const { checkUsers, checkConnections, checkSeconds, checkResults, inProcess, transportFloor, apiPath, benchUser, noCheckStartMs, noCheckMemory, envoyBytesPerCheckCall } = facts;
  const latencyResults = facts.comparisons.map((c) => ({ concurrency: c.concurrency, requestsPerRound: c.requestsPerRound, noCheck: c.baseline, check: c.subject, ratios: c.ratios, addedMs: c.addedMs }));
  return {
    benchmark: 'authz-overhead',
    when: new Date().toISOString(),
    machine: { ...machineAtStart, loadAverageAtEnd: machine().loadAverage },
    note: 'everything (kube-apiserver, etcd, both Envoys, control plane, load generator) shares this machine',
    targets: { decisionsPerSecondOnOneCoreAtLeast: 20_000, addedP99MsAtMost: 0.5 },
    scale: {
      users: users + 1,
      certificates: facts.certificates,
      filterChains: facts.filterChains,
      groups: GROUPS,
      accessPolicies: GROUPS,
      rules: ruleCount,
      policyApplyMs: Math.round(policyApplyMs),
      userInsertMs: Math.round(userInsertMs),
      publishMs: Math.round(publishMs),
      ldsAckMs: Math.round(ldsAckMs),
      allTypesAckMs: Math.round(allAckMs),
      listenerWarmMs: Math.round(warmMs),
      oneMoreUser: { publishMs: Math.round(onePublishMs), ldsAckMs: Math.round(oneLdsAckMs) },
      memoryBefore,
      memoryAfter,
    },
    check: {
      how: 'real CheckRequests over mTLS HTTP/2 to the control plane in this process; load from a worker process',
      distinctUsers: checkUsers,
      connections: checkConnections,
      secondsPerRun: checkSeconds,
      results: checkResults,
      inProcess: {
        how: 'the same requests decided by a PolicyAuthorizer in this process, without HTTP/2 and TLS; per CPU-second of one thread',
        results: inProcess,
      },
      transportFloor: {
        how: 'the same Check service, requests and load with an authorizer that answers at once: HTTP/2, TLS and protobuf alone',
        results: transportFloor,
      },
    },
    latency: {
      request: `GET ${apiPath} as ${benchUser} (groups ${facts.benchUserGroups.join(', ')})`,
      noCheckEdge: { startMs: Math.round(noCheckStartMs), memory: noCheckMemory },
      envoyBytesPerCheckCall,
      results: latencyResults,
    },
  };
}

export type AuthzReport = ReturnType<typeof authzReport>;

/** What a run prints. */
export function reportLines(facts: AuthzFacts, report: AuthzReport): string[] {
  const { machineAtStart, ruleCount, memoryBefore, memoryAfter, checkUsers, checkConnections, checkSeconds, checkResults, inProcess, transportFloor, envoyBytesPerCheckCall, comparisons } = facts;
  const out: string[] = [];
  out.push(`scale: ${report.scale.users} users (${report.scale.filterChains} filter chains), ${GROUPS} AccessPolicies, ${ruleCount} rules`);
  out.push(`  publish ${report.scale.publishMs} ms, LDS ACK ${report.scale.ldsAckMs} ms, listener warm ${report.scale.listenerWarmMs} ms; one more user: publish ${report.scale.oneMoreUser.publishMs} ms, LDS ACK ${report.scale.oneMoreUser.ldsAckMs} ms`);
  out.push(`  edge Envoy memory: allocated ${memoryBefore.envoy.allocatedMiB} → ${memoryAfter.envoy.allocatedMiB} MiB, RSS ${memoryBefore.envoy.rssMiB} → ${memoryAfter.envoy.rssMiB} MiB; control plane RSS ${memoryBefore.controlPlaneRssMiB} → ${memoryAfter.controlPlaneRssMiB} MiB`);
  out.push(`check service (${checkUsers} distinct users, ${checkConnections} connections, ${checkSeconds} s per run):`);
  for (const r of checkResults) {
    out.push(
      `  concurrency ${String(r.concurrency).padStart(3)}  misses ${String(r.missFraction).padEnd(4)} ${String(r.decisionsPerSecond).padStart(6)} decisions/s  p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms  allowed ${r.allowedPercent}%  errors ${r.errors}  ` +
        `control plane ${r.controlPlane.cpuMicrosPerDecision} µs CPU/decision (${r.controlPlane.coresUsed} cores, ${r.controlPlane.decisionsPerCpuSecond} decisions per CPU-second)`,
    );
  }
  out.push('same requests in process, without HTTP/2 and TLS (decisions per CPU-second):');
  for (const r of inProcess) {
    out.push(`  misses ${String(r.missFraction).padEnd(4)} decide only ${String(r.decideOnlyPerCpuSecond).padStart(7)}   decode + decide + encode ${String(r.withProtobufPerCpuSecond).padStart(7)}   allowed ${r.allowedPercent}%`);
  }
  out.push('transport floor: the same service and load, an authorizer that answers at once (HTTP/2 + TLS + protobuf only):');
  for (const f of transportFloor) {
    out.push(`  concurrency ${String(f.concurrency).padStart(3)}  ${String(f.callsPerSecond).padStart(6)} calls/s  p50 ${f.p50Ms.toFixed(3)} ms  p99 ${f.p99Ms.toFixed(3)} ms  ${f.cpuMicrosPerCall} µs CPU/call (${f.callsPerCpuSecond} calls per CPU-second)`);
  }
  out.push(`  (the worker's CheckRequest messages average ${checkResults[0]?.loadGenerator.meanRequestBytes ?? '-'} bytes; Envoy sent ${envoyBytesPerCheckCall ?? '-'} bytes per Check call in (b), HTTP/2 framing and headers included)`);
  out.push(`edges, ${report.latency.request}:`);
  for (const c of comparisons) out.push(`concurrency ${c.concurrency}`, ...formatComparison(c));
  out.push(`machine: ${machineAtStart.cpus} cpus, load average at start ${machineAtStart.loadAverage.join(' ')}, at end ${report.machine.loadAverageAtEnd.join(' ')}`);
  return out;
}
