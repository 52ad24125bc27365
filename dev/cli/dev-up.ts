/**
 * `kubegate dev up`: starts the local stack in the foreground until Ctrl-C, or in the background
 * (`--detach`) and returns once it is ready. Its options are parsed and checked in dev.ts; this
 * file installs the toolchain if needed (only now: see ensure-toolchain.ts) and runs the stack.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { readAuditSettingsFile } from '../../control-plane/audit-export/audit-settings-file';
import { parseDurationMs } from '../../control-plane/config/duration';
import { startLocalStack } from '../stack/local-stack';
import type { LocalClusterSpec } from '../stack/local-stack-props';
import { isStackProcessAlive, readStackDescriptor, removeStackDescriptor, writeStackDescriptor, type StackDescriptor } from '../../control-plane/cli/stack-descriptor';
import { createLogger } from '../../control-plane/log/logger';
import { UsageError } from '../../control-plane/cli/cli-error';
import { ensureToolchain } from './ensure-toolchain';
import { StartupTimeoutError, waitForStartup } from './startup-wait';

export interface UpOptions {
  readonly detach: boolean;
  readonly edgePort: number;
  readonly clusters: number;
  /** How clusters are reached: 'tunnel' (agents, reverse tunnels) or 'direct'. */
  readonly connect: 'tunnel' | 'direct';
  readonly firewall: boolean;
  readonly auditConfig?: string;
  readonly store?: string;
  readonly policyDir?: string;
  readonly maxCertTtl?: string;
}

/** What `dev up` prints once the stack is ready. */
export function nextSteps(d: StackDescriptor): string {
  return [
    '',
    `kubegate is up. The edge listens on ${d.edgeUrl}`,
    `  clusters:      ${d.clusters.map((c) => c.name).join(', ')}`,
    `  admin:         export KUBECONFIG=${d.adminKubeconfig}`,
    '                 kubectl get namespaces',
    '  another user:  ./kubegate user create alice --group dev',
    '                 ./kubegate policy apply DIR   (the whole policy set: keep kubegate-admins in it)',
    '                 ./kubegate kubeconfig --user alice -o alice.kubeconfig',
    `  admin API:     ${d.apiUrl ?? '(not running)'}`,
    `  access log:    tail -f ${d.accessLog}`,
    `  xDS status:    curl ${d.controlPlaneStatusUrl}/status`,
    '',
  ].join('\n');
}

export async function up(stateDir: string, opts: UpOptions): Promise<number> {
  try {
    const existing = readStackDescriptor(stateDir);
    if (isStackProcessAlive(existing)) {
      throw new UsageError(`a local stack already runs from ${stateDir} (pid ${existing.pid}); stop it with 'kubegate dev down --state-dir ${stateDir}'`);
    }
    removeStackDescriptor(stateDir);
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
  const toolchain = await ensureToolchain();
  fs.mkdirSync(stateDir, { recursive: true });
  if (opts.detach) return upDetached(stateDir, opts);

  const logger = createLogger('kubegate');
  const audit = opts.auditConfig ? readAuditSettingsFile(opts.auditConfig) : undefined;
  const names = opts.clusters === 1 ? ['dev'] : Array.from({ length: opts.clusters }, (_, i) => `dev-${i + 1}`);
  // Direct clusters are the same whole clusters as tunnelled ones (scheduler, controller
  // manager, a kwok node): only the way the edge reaches them differs.
  const direct: LocalClusterSpec[] = names.map((name) => ({ name, controlPlane: 'full' }));
  const stack = await startLocalStack({
    stateDir,
    toolchain,
    clusters: opts.connect === 'direct' ? direct : [],
    ...(opts.connect === 'tunnel' ? { tunnelClusters: names, tunnelIsolation: opts.firewall ? 'network-namespace' : 'none' } : {}),
    edgePort: opts.edgePort,
    logger,
    ...(opts.store ? { storeUrl: opts.store } : {}),
    ...(opts.policyDir ? { policyDir: opts.policyDir } : {}),
    ...(opts.maxCertTtl ? { maxCertTtlMs: parseDurationMs(opts.maxCertTtl) } : {}),
    ...(audit ? { auditExporters: audit.exporters, ...(audit.retention ? { auditRetention: audit.retention } : {}) } : {}),
  });
  const descriptor: StackDescriptor = {
    pid: process.pid,
    edgeUrl: stack.edgeUrl,
    edgeAdminPort: Number(new URL(stack.envoy.adminUrl).port),
    controlPlanePort: stack.controlPlane.port,
    controlPlaneStatusUrl: `http://127.0.0.1:${stack.controlPlane.statusPort}`,
    clusters: stack.clusters.map((c) => ({ name: c.name, apiserverUrl: c.apiserverUrl, connection: opts.connect })),
    adminKubeconfig: stack.adminKubeconfigPath,
    accessLog: stack.accessLogPath,
    apiUrl: stack.apiUrl,
    startedAt: new Date().toISOString(),
  };
  writeStackDescriptor(stateDir, descriptor);
  process.stdout.write(nextSteps(descriptor) + 'Press Ctrl-C to stop.\n');

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info('stopping local stack', { signal });
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await stack.stop();
  removeStackDescriptor(stateDir);
  logger.info('local stack stopped');
  return 0;
}

async function upDetached(stateDir: string, opts: UpOptions): Promise<number> {
  const logFile = path.join(stateDir, 'dev-stack.log');
  const out = fs.openSync(logFile, 'a');
  const args = [process.argv[1]!, 'dev', 'up', '--state-dir', stateDir, '--edge-port', String(opts.edgePort), '--clusters', String(opts.clusters)];
  if (opts.connect === 'direct') args.push('--direct');
  if (!opts.firewall) args.push('--no-firewall');
  if (opts.auditConfig) args.push('--audit-config', opts.auditConfig);
  if (opts.store) args.push('--store', opts.store);
  if (opts.policyDir) args.push('--policy-dir', opts.policyDir);
  if (opts.maxCertTtl) args.push('--max-cert-ttl', opts.maxCertTtl);
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  child.unref();
  process.stderr.write(`starting the local stack in the background (pid ${child.pid}); log: ${logFile}\n`);
  // Each cluster is a whole control plane with a node (and an agent and an Envoy when
  // tunnelled): allow for several.
  const timeoutMs = 180_000 + 60_000 * opts.clusters;
  try {
    const d = await waitForStartup({
      timeoutMs,
      report: (line) => process.stderr.write(line + '\n'),
      failed: () => {
        if (child.exitCode === null && child.signalCode === null) return undefined;
        const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-20).join('\n');
        return new Error(`the local stack exited during startup; last lines of ${logFile}:\n${tail}`);
      },
      ready: () => {
        try {
          const d = readStackDescriptor(stateDir);
          return d.pid === child.pid ? d : undefined;
        } catch {
          return undefined; // not written yet
        }
      },
    });
    process.stdout.write(nextSteps(d) + `Stop it with: ./kubegate dev down --state-dir ${stateDir}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof StartupTimeoutError)) throw err;
    child.kill('SIGTERM');
    throw new Error(`the local stack was ${err.message}; see ${logFile}`);
  }
}
