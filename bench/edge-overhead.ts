/**
 * Benchmark: small GETs straight to kube-apiserver vs through the kubegate edge, in one run.
 *
 * Both sides send exactly what reaches the apiserver in production — the proxy identity's
 * client certificate plus Impersonate-User/Group — so the difference is the edge alone (TLS
 * termination, ext_authz, routing, access log). Rounds alternate direct/edge so machine noise
 * affects both alike. Prints a table and writes bench/results/edge-overhead.json.
 *
 *   npm run bench -- [--requests N] [--concurrency C] [--rounds R]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalStack } from '../control-plane/dev/local-stack';
import { createLogger } from '../control-plane/log/logger';
import { issueUserCertificate } from '../control-plane/credentials/user-certificate';
import { ADMIN_GROUP, PROXY_IDENTITY_USER } from '../control-plane/dev/cluster-access-rbac';
import { spawn } from 'node:child_process';
import type { LoadResult, LoadTarget } from './load';

/** One load run in a separate process (bench/load-worker.ts). */
function runLoad(target: LoadTarget, opts: { concurrency: number; requests: number }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'load-worker.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load worker exited with ${code}`))));
    child.stdin.end(JSON.stringify({ target, ...opts }));
  });
}

function combine(name: string, results: LoadResult[]): LoadResult & { rounds: number } {
  const mean = (f: (r: LoadResult) => number) => results.reduce((s, r) => s + f(r), 0) / results.length;
  return {
    name,
    rounds: results.length,
    requests: results.reduce((s, r) => s + r.requests, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
    seconds: results.reduce((s, r) => s + r.seconds, 0),
    requestsPerSecond: mean((r) => r.requestsPerSecond),
    p50Ms: mean((r) => r.p50Ms),
    p99Ms: mean((r) => r.p99Ms),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { requests: { type: 'string', default: '3000' }, concurrency: { type: 'string', default: '8' }, rounds: { type: 'string', default: '3' } },
  });
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  const logger = createLogger('bench', { level: 'warn' });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-bench-'));
  process.stderr.write(`starting the local stack in ${stateDir}...\n`);
  const stack = await startLocalStack({ stateDir, clusters: ['bench'], logger });
  try {
    const cluster = stack.clusters[0]!;
    const proxy = cluster.issueClientCertificate(PROXY_IDENTITY_USER, []);
    const user = issueUserCertificate(stack.pki.userCa, { user: 'admin', groups: [ADMIN_GROUP], ttlMs: 3_600_000, now: new Date() });
    const apiPath = '/api/v1/namespaces/default';
    const direct: LoadTarget = {
      name: 'direct',
      url: cluster.apiserverUrl + apiPath,
      caPem: cluster.caPem,
      ...proxy,
      headers: { 'Impersonate-User': 'admin', 'Impersonate-Group': [ADMIN_GROUP] },
    };
    const edge: LoadTarget = { name: 'edge', url: `${stack.edgeUrl}/clusters/bench${apiPath}`, caPem: stack.pki.servingCa.certPem, ...user };

    process.stderr.write('warming up...\n');
    await runLoad(direct, { concurrency, requests: 500 });
    await runLoad(edge, { concurrency, requests: 500 });
    const directRuns: LoadResult[] = [];
    const edgeRuns: LoadResult[] = [];
    for (let i = 0; i < rounds; i++) {
      process.stderr.write(`round ${i + 1}/${rounds}\n`);
      directRuns.push(await runLoad(direct, { concurrency, requests }));
      edgeRuns.push(await runLoad(edge, { concurrency, requests }));
    }
    const d = combine('direct', directRuns);
    const e = combine('edge', edgeRuns);
    const report = {
      benchmark: 'edge-overhead',
      when: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '' },
      request: `GET ${apiPath}`,
      concurrency,
      requestsPerRound: requests,
      direct: d,
      edge: e,
      ratios: {
        throughput: e.requestsPerSecond / d.requestsPerSecond,
        p50: e.p50Ms / d.p50Ms,
        p99: e.p99Ms / d.p99Ms,
      },
      addedMs: { p50: e.p50Ms - d.p50Ms, p99: e.p99Ms - d.p99Ms },
      targets: { throughputRatioAtLeast: 0.9, addedP99MsAtMost: 1 },
    };
    const row = (r: LoadResult) => `${r.name.padEnd(8)} ${r.requestsPerSecond.toFixed(0).padStart(8)} req/s  p50 ${r.p50Ms.toFixed(2).padStart(6)} ms  p99 ${r.p99Ms.toFixed(2).padStart(6)} ms  errors ${r.errors}`;
    process.stdout.write(
      [
        row(d),
        row(e),
        `ratio    throughput ${report.ratios.throughput.toFixed(3)}  p50 ${report.ratios.p50.toFixed(2)}x  p99 ${report.ratios.p99.toFixed(2)}x`,
        `added    p50 ${report.addedMs.p50.toFixed(3)} ms  p99 ${report.addedMs.p99.toFixed(3)} ms`,
        '',
      ].join('\n'),
    );
    const outDir = path.join(__dirname, '..', '..', 'bench', 'results');
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'edge-overhead.json'), JSON.stringify(report, null, 2));
  } finally {
    await stack.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`benchmark failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
