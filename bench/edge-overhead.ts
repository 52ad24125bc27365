/**
 * Benchmark: small GETs straight to kube-apiserver vs through the kubegate edge, in one run.
 *
 * Both sides send exactly what reaches the apiserver in production (the proxy identity's
 * client certificate plus Impersonate-User/Group), so the difference is the edge alone: TLS
 * termination and origination, ext_authz, routing, the access log. Rounds alternate
 * direct/edge so machine noise affects both alike. Load is generated in a separate process.
 *
 * Two load levels: concurrency 1 shows the latency the edge adds to an idle system;
 * concurrency 8 saturates this machine and shows throughput. For each run the CPU time every
 * process spent per request is reported, which says where the time goes.
 *
 *   npm run bench -- [--requests N] [--rounds R] [--concurrency 1,8]
 * Writes bench/results/edge-overhead.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalStack } from '../dev/stack/local-stack';
import { createLogger } from '../control-plane/log/logger';
import { issueUserCertificate } from '../control-plane/credentials/user-certificate';
import { userServerName } from '../control-plane/identity/user-identity';
import { PROXY_IDENTITY_USER } from '../control-plane/server/cluster-access-rbac';
import { ADMINS_GROUP } from '../control-plane/api/admins';
import type { LoadTarget } from './load';
import { compareLoad, formatComparison, requestsAt, runLoadWorker, type Comparison } from './load-run-support';
import { writeResults } from './bench-support';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '3000' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '1,8' },
    },
  });
  const requests = Number(values.requests);
  const rounds = Number(values.rounds);
  const levels = values.concurrency!.split(',').map(Number);
  if (!(requests > 0) || !(rounds > 0) || levels.some((c) => !(c > 0))) throw new Error('--requests, --rounds and --concurrency must be positive numbers');

  const logger = createLogger('bench', { level: 'warn' });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-bench-'));
  process.stderr.write(`starting the local stack in ${stateDir}...\n`);
  const stack = await startLocalStack({ stateDir, clusters: ['bench'], logger });
  try {
    const cluster = stack.clusters[0]!;
    const proxy = cluster.issueClientCertificate(PROXY_IDENTITY_USER, []);
    const issued = issueUserCertificate(stack.pki.userCa, { user: 'admin', ttlMs: 3_600_000, now: new Date() });
    const user = { certPem: issued.certPem, keyPem: issued.keyPem, servername: userServerName('admin') };
    const apiPath = '/api/v1/namespaces/default';
    const direct: LoadTarget = {
      name: 'direct',
      url: cluster.apiserverUrl + apiPath,
      caPem: cluster.caPem,
      ...proxy,
      headers: { 'Impersonate-User': 'admin', 'Impersonate-Group': [ADMINS_GROUP] },
    };
    const edge: LoadTarget = { name: 'edge', url: `${stack.edgeUrl}/clusters/bench${apiPath}`, caPem: stack.pki.servingCa.certPem, ...user };
    const pids = {
      'kube-apiserver': cluster.pids.apiserver,
      etcd: cluster.pids.etcd,
      'edge-envoy': stack.envoy.pid!,
      'control-plane': process.pid,
    };

    process.stderr.write('warming up...\n');
    await runLoadWorker(direct, { concurrency: 8, requests: 500 });
    await runLoadWorker(edge, { concurrency: 8, requests: 500 });

    const comparisons: Comparison[] = [];
    for (const concurrency of levels) {
      const onRound = (i: number) => process.stderr.write(`concurrency ${concurrency}: round ${i + 1}/${rounds}\n`);
      comparisons.push(await compareLoad(direct, edge, pids, { concurrency, requests: requestsAt(concurrency, requests), rounds, onRound }));
    }
    const results = comparisons.map((c) => ({ concurrency: c.concurrency, requestsPerRound: c.requestsPerRound, direct: c.baseline, edge: c.subject, ratios: c.ratios, addedMs: c.addedMs }));

    const report = {
      benchmark: 'edge-overhead',
      when: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '' },
      request: `GET ${apiPath}`,
      note: 'everything (kube-apiserver, etcd, Envoy, control plane, load generator) shares this machine',
      targets: { throughputRatioAtLeast: 0.9, addedP99MsAtMost: 1 },
      results,
    };
    for (const c of comparisons) process.stdout.write([`concurrency ${c.concurrency}`, ...formatComparison(c, 7), ''].join('\n'));
    writeResults('edge-overhead', report);
  } finally {
    await stack.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`benchmark failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
