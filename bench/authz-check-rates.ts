/**
 * Why: part (a) of the authz benchmark, decisions per second of the Check service, has three
 * measurements of the same requests (over the wire from a worker process, in this process
 * without the transport, and against an authorizer that answers at once); they live here so
 * bench/authz-overhead.ts reads as the run, setup at scale, (a) and then (b).
 */
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { LocalStack } from '../dev/stack/local-stack';
import { createLogger } from '../control-plane/log/logger';
import { CONTROL_PLANE_SERVER_NAME } from '../control-plane/envoy/bootstrap';
import { PolicyAuthorizer } from '../control-plane/authz/policy-authorizer';
import { startCheckServer } from '../control-plane/authz/check-server';
import type { Decision } from '../control-plane/authz/decision';
import { DecisionCache } from '../control-plane/policy-engine/decision-cache';
import { toAuthzRequest } from '../control-plane/authz/check-response';
import { encodeCheckResponseFrame } from '../control-plane/authz/check-response-encoder';
import type { ControlPlane } from '../control-plane/server/control-plane';
import { cpuSeconds } from './process-cpu';
import { round } from './bench-support';
import { CheckRequestSource, type CheckLoadInput, type CheckLoadResult, type CheckUser } from './check-load-support';
import type { AuthzOptions } from './authz-options';

/** What the transport-floor server answers every call with: no work, a fixed refusal. */
const TRANSPORT_FLOOR_DECISION: Decision = { allowed: false, httpStatus: 403, message: 'kubegate: transport floor', reason: 'transport floor' };

function runCheckWorker(input: CheckLoadInput): Promise<CheckLoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'check-load-support.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as CheckLoadResult) : reject(new Error(`check load worker exited with ${code}`))));
    child.stdin.end(JSON.stringify(input));
  });
}

/**
 * Decisions per CPU-second of a PolicyAuthorizer like the control plane's (a decision cache of
 * its own, the control plane's access state), over `count` requests from `make(missFraction)`:
 * deciding alone, and decoding the CheckRequest + deciding + encoding the CheckResponse. Each
 * authorizer's cache is first warmed with the repeating pool, as the service's warm-up does.
 */
function inProcessRates(cp: ControlPlane, make: (missFraction: number) => CheckRequestSource, missFraction: number, count: number) {
  const source = make(missFraction);
  const decode = (b: Buffer) => toAuthzRequest(source.requestType.decode(b.subarray(5)) as unknown as Parameters<typeof toAuthzRequest>[0]);
  const bodies = Array.from({ length: count }, () => source.next());
  const requests = bodies.map(decode);
  const warmed = () => {
    const authorizer = new PolicyAuthorizer({ view: () => cp.access, cache: new DecisionCache() });
    const pool = make(0);
    for (let i = 0; i < 20_000; i++) authorizer.decide(decode(pool.next()));
    return authorizer;
  };
  const perCpuSecond = (f: () => void) => {
    const before = process.cpuUsage();
    f();
    const cpu = process.cpuUsage(before);
    return Math.round(count / ((cpu.user + cpu.system) / 1e6));
  };
  let allowed = 0;
  const decideOnly = warmed();
  const decideOnlyPerCpuSecond = perCpuSecond(() => {
    for (const r of requests) if (decideOnly.decide(r).allowed) allowed++;
  });
  const full = warmed();
  const withProtobufPerCpuSecond = perCpuSecond(() => {
    for (const b of bodies) {
      const request = decode(b);
      // As the check server answers: the CheckResponse written straight to a gRPC frame.
      encodeCheckResponseFrame(full.decide(request), request);
    }
  });
  return { decisions: count, allowedPercent: round((allowed / count) * 100), decideOnlyPerCpuSecond, withProtobufPerCpuSecond };
}

const log = (line: string) => process.stderr.write(line + '\n');

/** Part (a): the Check service over the wire, the same requests in process, and the transport's floor. */
export async function measureChecks(stack: LocalStack, options: AuthzOptions, checkUserList: readonly CheckUser[]) {
  const { checkConnections, checkLevels, missFractions, checkSeconds, inProcessDecisions } = options;
  const cp = stack.controlPlane;
  const authzClient = stack.pki.issueComponent('bench-authz-client', new Date());
  const checkBase = {
    port: cp.authzPort,
    caPem: stack.pki.internalCa.certPem,
    certPem: authzClient.certPem,
    keyPem: authzClient.keyPem,
    servername: CONTROL_PLANE_SERVER_NAME,
    users: checkUserList,
    connections: checkConnections,
    edgePort: stack.edgePort,
  };
  // Every run draws its repeating requests from the same pool (warm-up included, so the pool's
  // decisions are cached before measuring) and its never-seen names from a range of its own.
  log('check service: warming up...');
  await runCheckWorker({ ...checkBase, concurrency: 16, seconds: 2, missFraction: 0.1, seed: 1, uniqueStart: 0 });
  const checkResults = [];
  for (const concurrency of checkLevels) {
    for (const missFraction of missFractions) {
      log(`check service: concurrency ${concurrency}, miss fraction ${missFraction}`);
      const metricsBefore = cp.authzMetrics();
      const cpuBefore = cpuSeconds(process.pid);
      const r = await runCheckWorker({ ...checkBase, concurrency, seconds: checkSeconds, missFraction, seed: 1, uniqueStart: (checkResults.length + 1) * 1e9 });
      const cpCpu = cpuSeconds(process.pid) - cpuBefore;
      const metricsAfter = cp.authzMetrics();
      checkResults.push({
        concurrency,
        missFraction,
        decisions: r.decisions,
        allowedPercent: round((r.allowed / Math.max(1, r.decisions)) * 100),
        errors: r.errors,
        decisionsPerSecond: Math.round(r.decisionsPerSecond),
        p50Ms: round(r.p50Ms, 3),
        p99Ms: round(r.p99Ms, 3),
        controlPlane: {
          cpuMicrosPerDecision: round((cpCpu / Math.max(1, r.decisions)) * 1e6),
          coresUsed: round(cpCpu / r.seconds, 2),
          decisionsPerCpuSecond: Math.round(r.decisions / Math.max(cpCpu, 0.01)),
          serverCounted: {
            allowed: metricsAfter.allowed - metricsBefore.allowed,
            denied: metricsAfter.denied - metricsBefore.denied,
            errors: metricsAfter.errors - metricsBefore.errors,
          },
        },
        loadGenerator: { cpuMicrosPerDecision: round((r.loadGeneratorCpuSeconds / Math.max(1, r.decisions)) * 1e6), meanRequestBytes: r.meanRequestBytes },
      });
    }
  }

  // The same requests without the transport, in this process: what deciding costs, and
  // deciding plus protobuf decoding and encoding; the rest of a call's cost is HTTP/2 and TLS.
  const inProcess = missFractions.map((missFraction, k) => {
    log(`in process: miss fraction ${missFraction}`);
    const make = (fraction: number) => new CheckRequestSource({ ...checkBase, missFraction: fraction, seed: 1, uniqueStart: (1000 + k) * 1e9 });
    return { missFraction, ...inProcessRates(cp, make, missFraction, inProcessDecisions) };
  });

  // The floor of the transport: the same service, the same requests and load, with an
  // authorizer that answers at once. What it costs per call is HTTP/2, TLS and protobuf
  // alone, which no decision logic can go below in this process.
  const floorServer = await startCheckServer({
    tls: { caPem: stack.pki.internalCa.certPem, certPem: stack.pki.controlPlane.certPem, keyPem: stack.pki.controlPlane.keyPem },
    authorizer: { decide: () => TRANSPORT_FLOOR_DECISION },
    logger: createLogger('bench.floor', { level: 'error' }),
  });
  const transportFloor: { concurrency: number; callsPerSecond: number; p50Ms: number; p99Ms: number; cpuMicrosPerCall: number; callsPerCpuSecond: number }[] = [];
  try {
    for (const concurrency of checkLevels) {
      log(`transport floor: concurrency ${concurrency}`);
      const cpuBefore = cpuSeconds(process.pid);
      const r = await runCheckWorker({ ...checkBase, port: floorServer.port, concurrency, seconds: checkSeconds, missFraction: 0, seed: 1, uniqueStart: 0 });
      const cpu = cpuSeconds(process.pid) - cpuBefore;
      transportFloor.push({
        concurrency,
        callsPerSecond: Math.round(r.decisionsPerSecond),
        p50Ms: round(r.p50Ms, 3),
        p99Ms: round(r.p99Ms, 3),
        cpuMicrosPerCall: round((cpu / Math.max(1, r.decisions)) * 1e6),
        callsPerCpuSecond: Math.round(r.decisions / Math.max(cpu, 0.01)),
      });
    }
  } finally {
    await floorServer.stop();
  }
  return { checkResults, inProcess, transportFloor };
}

export type CheckMeasurements = Awaited<ReturnType<typeof measureChecks>>;
