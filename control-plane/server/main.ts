#!/usr/bin/env node
/**
 * kubegate-controller: the controller as a process of its own (a Deployment in production; a
 * child process in crash tests). It runs the store, the audit trail, the control plane and
 * the admin API (server/controller.ts) from a configuration file (controller-config.ts); the
 * edge Envoy runs elsewhere and finds it over xDS. Exits 2 on a bad command line or
 * configuration, 1 when it cannot start, and stops cleanly on SIGTERM or SIGINT. SIGTERM (a
 * pod being replaced) drains first, so that no user request fails: the replica leaves its
 * Services and hands its agents to the other replicas (ControlPlane.drain); SIGINT, or a
 * second signal during the drain, stops at once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../log/logger';
import { controllerPki, type ControllerPki } from './controller-pki';
import { ADMIN_USER, Controller } from './controller';
import { AdminKubeconfigRenewal } from './admin-kubeconfig-renewal';
import { ControllerConfigError, readControllerConfig, type ControllerConfig } from './controller-config';

const USAGE = `Usage: kubegate-controller --config FILE

Runs kubegate's controller: the store, the audit trail, the xDS and ext_authz servers that
program and consult the edge Envoy, the agent port and the admin API. FILE is described in
control-plane/server/controller-config.ts. On start it writes <stateDir>/admin.kubeconfig,
the operator's credential for the admin API (in a pod, with kubernetesSecrets, also the
Secret kubegate-admin-kubeconfig), and renews it at half its lifetime.`;

function parseArgs(argv: readonly string[]): { config?: string; help: boolean } {
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { help: true };
    if (arg === '--config') {
      config = argv[++i];
      if (!config) throw new Error('--config needs a file');
    } else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else throw new Error(`unknown argument "${arg}" (see --help)`);
  }
  if (!config) throw new Error('--config FILE is required (see --help)');
  return { config, help: false };
}

async function reopenEdgeLogs(adminUrl: string): Promise<void> {
  const r = await fetch(`${adminUrl}/reopen_logs`, { method: 'POST', signal: AbortSignal.timeout(5000) });
  if (r.status !== 200) throw new Error(`the edge Envoy did not reopen its logs: HTTP ${r.status} ${(await r.text()).trim()}`);
}

async function main(): Promise<void> {
  const log = createLogger('controller');
  let config: ControllerConfig;
  try {
    const args = parseArgs(process.argv.slice(2));
    if (args.help) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    config = readControllerConfig(args.config!);
  } catch (err) {
    const message = err instanceof ControllerConfigError ? err.message : `kubegate-controller: ${(err as Error).message}`;
    process.stderr.write(`${message}\n`);
    process.exitCode = 2;
    return;
  }
  let controller: Controller;
  let shared: ControllerPki;
  try {
    fs.mkdirSync(config.stateDir, { recursive: true });
    shared = await controllerPki({
      stateDir: config.stateDir,
      ...(config.kubernetesSecrets ? { kubernetesSecrets: config.kubernetesSecrets } : {}),
      ...(config.apiServerNames ? { apiNames: config.apiServerNames } : {}),
      logger: log,
    });
    const tunnels = config.agents?.edgeTunnelAddresses;
    const adminUrl = config.edge.adminUrl;
    controller = await Controller.start({
      stateDir: config.stateDir,
      ...(config.storeUrl ? { storeUrl: config.storeUrl } : {}),
      pki: shared.pki,
      ...(config.listenAddress ? { listenAddress: config.listenAddress } : {}),
      ports: config.ports,
      edge: { ...config.edge, ...(adminUrl ? { reopenLogs: () => reopenEdgeLogs(adminUrl) } : {}) },
      agents: {
        ...(config.agents?.listenAddress ? { listenAddress: config.agents.listenAddress } : {}),
        ...(tunnels ? { edgeTunnelsFor: () => tunnels } : {}),
      },
      ...(config.policyDir ? { policyDir: config.policyDir } : {}),
      ...(config.maxCertTtlMs ? { maxCertTtlMs: config.maxCertTtlMs } : {}),
      ...(config.audit?.exporters.length ? { auditExporters: config.audit.exporters } : {}),
      ...(config.audit?.retention ? { auditRetention: config.audit.retention } : {}),
      ...(config.agentInstall ? { agentInstall: config.agentInstall } : {}),
      logger: log,
    });
    for (const cluster of config.clusters) controller.registerCluster(cluster);
    await controller.controlPlane.refresh();
  } catch (err) {
    log.error('controller could not start', { error: err });
    process.exitCode = 1;
    return;
  }
  log.info('controller ready', { api: controller.apiUrl, ...(controller.installUrl ? { installLinks: controller.installUrl } : {}), xdsPort: config.ports.xds, authzPort: config.ports.authz, statusPort: config.ports.status });
  // The operator's credential: issued once the edge holds admin's filter chain (or after the
  // issuer's wait), so it works as soon as it is on disk; renewed at half its lifetime.
  const secrets = shared.secrets;
  const adminKubeconfig = new AdminKubeconfigRenewal({
    issue: () => controller.issueKubeconfig({ user: ADMIN_USER, evenWithoutAccess: true }),
    file: path.join(config.stateDir, 'admin.kubeconfig'),
    ...(secrets ? { store: (kubeconfig: string) => secrets.putAdminKubeconfig(kubeconfig) } : {}),
    logger: log,
  });
  adminKubeconfig.start();
  let phase: 'running' | 'draining' | 'stopping' = 'running';
  const stop = (signal: string) => {
    if (phase === 'stopping') return;
    phase = 'stopping';
    log.info('stopping', { signal });
    adminKubeconfig.stop();
    shared.stop();
    controller.stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error('stop failed', { error: err });
        process.exit(1);
      },
    );
  };
  const drainThenStop = (signal: string) => {
    if (phase === 'draining') return stop(signal);
    if (phase !== 'running') return;
    phase = 'draining';
    log.info('draining before stopping', { signal });
    controller.drain().then(
      () => stop(signal),
      (err: Error) => {
        log.error('drain failed; stopping now', { error: err });
        stop(signal);
      },
    );
  };
  process.on('SIGTERM', () => drainThenStop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
