import * as fs from 'node:fs';
import { AuditSettingsFileError, readAuditSettingsFile } from '../../audit-export/audit-settings-file';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { parseOptions } from '../parse-options';
import { UsageError } from '../cli-error';
import { createLogger } from '../../log/logger';
import { startLocalStack } from '../../dev/local-stack';
import { parseDurationMs } from '../../config/duration';
import { MAX_USER_CERT_TTL_MS } from '../../credentials/user-certificate';
import {
  defaultStateDir,
  isStackProcessAlive,
  readStackDescriptor,
  removeStackDescriptor,
  writeStackDescriptor,
  type StackDescriptor,
} from '../../dev/stack-descriptor';

const HELP = `Usage: kubegate dev <up|down|status> [options]

  up      start a local kubegate: control plane, edge Envoy and local clusters, each behind
          a firewall (its own network namespace) and reached through the reverse tunnels
          its agent and in-cluster Envoy dial out
  down    stop the local stack started with 'up --detach'
  status  show whether a local stack runs and where

Options:
  --state-dir DIR   where the stack keeps certificates, logs and kubeconfigs
                    (default .state or $KUBEGATE_STATE_DIR)
  --detach          (up) start in the background and return once it is ready
  --edge-port N     (up) the edge's HTTPS port (default: a free port)
  --clusters N      (up) how many local clusters to start (default 1)
  --direct          (up) register the clusters with the edge directly instead of through
                    agents and tunnels (no firewall, no per-user ServiceAccounts)
  --no-firewall     (up) run the tunnelled clusters on the host's loopback instead of in
                    firewalled network namespaces (which need root, iproute2 and iptables)
  --store URL       (up) where users, policies and grants live: sqlite:FILE or
                    postgres://user:password@host:port/db for several control planes
                    (default sqlite:<state-dir>/kubegate.db)
  --max-cert-ttl D  (up) the longest lifetime a user certificate may have, e.g. 12h
                    (default and ceiling 24h; kubeconfigs default to 8h or this if shorter)
  --audit-config F  (up) where the audit trail is exported (JSON Lines files, webhooks in
                    Kubernetes' audit.k8s.io/v1 format) and how long it is kept: a YAML file,
                    see control-plane/audit-export/README.md (default: kept 90 days, no exports)
  --policy-dir DIR  (up) keep the policy set equal to the YAML files in DIR (GitOps):
                    changes apply within a second; a set that does not validate changes
                    nothing and is reported in the log and on /status
`;

interface UpOptions {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function nextSteps(d: StackDescriptor): string {
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

async function up(stateDir: string, opts: UpOptions): Promise<number> {
  try {
    const existing = readStackDescriptor(stateDir);
    if (isStackProcessAlive(existing)) {
      throw new UsageError(`a local stack already runs from ${stateDir} (pid ${existing.pid}); stop it with 'kubegate dev down --state-dir ${stateDir}'`);
    }
    removeStackDescriptor(stateDir);
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
  fs.mkdirSync(stateDir, { recursive: true });
  if (opts.detach) return upDetached(stateDir, opts);

  const logger = createLogger('kubegate');
  const audit = opts.auditConfig ? readAuditSettingsFile(opts.auditConfig) : undefined;
  const names = opts.clusters === 1 ? ['dev'] : Array.from({ length: opts.clusters }, (_, i) => `dev-${i + 1}`);
  const stack = await startLocalStack({
    stateDir,
    clusters: opts.connect === 'direct' ? names : [],
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
    clusters: stack.clusters.map((c) => ({ name: c.name, apiserverUrl: c.apiserverUrl })),
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
  // Each cluster is a whole control plane with a node, an agent and an Envoy: allow for several.
  const deadline = Date.now() + 180_000 + 60_000 * opts.clusters;
  let lastReport = Date.now();
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-20).join('\n');
      throw new Error(`the local stack exited during startup; last lines of ${logFile}:\n${tail}`);
    }
    try {
      const d = readStackDescriptor(stateDir);
      if (d.pid === child.pid) {
        process.stdout.write(nextSteps(d) + `Stop it with: ./kubegate dev down --state-dir ${stateDir}\n`);
        return 0;
      }
    } catch {
      // not written yet
    }
    if (Date.now() - lastReport > 10_000) {
      process.stderr.write(`still starting (${Math.round((Date.now() - (deadline - 180_000)) / 1000)} s)...\n`);
      lastReport = Date.now();
    }
    await sleep(250);
  }
  child.kill('SIGTERM');
  throw new Error(`the local stack was not ready after 180 s; see ${logFile}`);
}

async function down(stateDir: string): Promise<number> {
  let d: StackDescriptor;
  try {
    d = readStackDescriptor(stateDir);
  } catch {
    process.stdout.write(`no local stack runs from ${stateDir}\n`);
    return 0;
  }
  if (isStackProcessAlive(d)) {
    process.kill(d.pid, 'SIGTERM');
    const deadline = Date.now() + 60_000;
    while (isStackProcessAlive(d)) {
      if (Date.now() > deadline) {
        process.kill(d.pid, 'SIGKILL');
        break;
      }
      await sleep(200);
    }
  }
  removeStackDescriptor(stateDir);
  process.stdout.write(`local stack stopped (pid ${d.pid})\n`);
  return 0;
}

function status(stateDir: string): number {
  let d: StackDescriptor;
  try {
    d = readStackDescriptor(stateDir);
  } catch {
    process.stdout.write(`no local stack runs from ${stateDir}\n`);
    return 1;
  }
  if (!isStackProcessAlive(d)) {
    process.stdout.write(`the local stack recorded in ${stateDir} (pid ${d.pid}) is not running\n`);
    return 1;
  }
  process.stdout.write(JSON.stringify(d, null, 2) + '\n');
  return 0;
}

export const devCommand = {
  summary: 'run a local kubegate stack (up, down, status)',
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseOptions(
      args,
      {
        'state-dir': { type: 'string' },
        detach: { type: 'boolean' },
        'edge-port': { type: 'string' },
        clusters: { type: 'string' },
        direct: { type: 'boolean' },
        'no-firewall': { type: 'boolean' },
        'audit-config': { type: 'string' },
        store: { type: 'string' },
        'policy-dir': { type: 'string' },
        'max-cert-ttl': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const stateDir = path.resolve(values['state-dir'] ?? defaultStateDir());
    const [sub, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const edgePort = values['edge-port'] === undefined ? 0 : Number(values['edge-port']);
    if (!Number.isInteger(edgePort) || edgePort < 0 || edgePort > 65535) throw new UsageError(`--edge-port "${values['edge-port']}" is not a TCP port`);
    const clusters = values.clusters === undefined ? 1 : Number(values.clusters);
    if (!Number.isInteger(clusters) || clusters < 1 || clusters > 10) throw new UsageError(`--clusters "${values.clusters}" must be a whole number from 1 to 10`);
    if (values.direct && values['no-firewall']) throw new UsageError('--no-firewall is for tunnelled clusters; --direct clusters have no firewall to leave out');
    const store = values.store;
    if (store !== undefined && !/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(store)) {
      throw new UsageError(`--store "${store}" is not a store URL: use sqlite:FILE or postgres://user:password@host:port/database`);
    }
    const policyDir = values['policy-dir'] === undefined ? undefined : path.resolve(values['policy-dir']);
    if (policyDir !== undefined && !(fs.existsSync(policyDir) && fs.statSync(policyDir).isDirectory())) {
      throw new UsageError(`--policy-dir "${values['policy-dir']}" is not a directory`);
    }
    const auditConfig = values['audit-config'] === undefined ? undefined : path.resolve(values['audit-config']);
    if (auditConfig !== undefined) {
      try {
        readAuditSettingsFile(auditConfig);
      } catch (err) {
        if (err instanceof AuditSettingsFileError) throw new UsageError(`--audit-config: ${err.message}`);
        throw err;
      }
    }
    const maxCertTtl = values['max-cert-ttl'];
    if (maxCertTtl !== undefined) {
      let ms: number;
      try {
        ms = parseDurationMs(maxCertTtl);
      } catch (err) {
        throw new UsageError(`--max-cert-ttl: ${(err as Error).message}`);
      }
      if (ms > MAX_USER_CERT_TTL_MS) throw new UsageError(`--max-cert-ttl ${maxCertTtl} is longer than kubegate's ceiling of 24h`);
    }
    const upOptions: UpOptions = {
      detach: values.detach ?? false,
      edgePort,
      clusters,
      connect: values.direct ? 'direct' : 'tunnel',
      firewall: !values['no-firewall'],
      ...(auditConfig ? { auditConfig } : {}),
      ...(store ? { store } : {}),
      ...(policyDir ? { policyDir } : {}),
      ...(maxCertTtl ? { maxCertTtl } : {}),
    };
    switch (sub) {
      case 'up':
        return up(stateDir, upOptions);
      case 'down':
        return down(stateDir);
      case 'status':
        return status(stateDir);
      default:
        throw new UsageError(sub ? `unknown subcommand "${sub}"; use up, down or status` : 'say up, down or status; see --help');
    }
  },
};
