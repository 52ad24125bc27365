/**
 * `kubegate dev up|down|status|images|pulumi-env`: the local stack, kubegate's images, and the
 * environment of the toolchain's Pulumi CLI. This file parses
 * and checks the options, so that a mistake is named before anything is installed or started;
 * dev-up.ts, dev-down.ts, dev-status.ts and dev-images.ts do the work.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuditSettingsFileError, readAuditSettingsFile } from '../../control-plane/audit-export/audit-settings-file';
import { parseOptions } from '../../control-plane/cli/parse-options';
import { UsageError } from '../../control-plane/cli/cli-error';
import { parseDurationMs } from '../../control-plane/config/duration';
import { MAX_USER_CERT_TTL_MS } from '../../control-plane/credentials/user-certificate';
import { defaultStateDir } from '../../control-plane/cli/stack-descriptor';
import { up, type UpOptions } from './dev-up';
import { down } from './dev-down';
import { status } from './dev-status';
import { images } from './dev-images';
import { pulumiEnv } from './dev-pulumi-env';
import { OUTPUT_OPTION, outputFormat } from '../../control-plane/cli/commands/output';

const HELP = `Usage: kubegate dev <up|down|status|images|pulumi-env> [options]

  up      start a local kubegate: control plane, edge Envoy and local clusters, each behind
          a firewall (its own network namespace) and reached through the reverse tunnels
          its agent and in-cluster Envoy dial out
  down    stop the local stack started with 'up --detach'
  status  show whether a local stack runs and where (exit 1 when none does)
  images  build kubegate's images (controller, agent, envoy) from this checkout, without a
          Docker daemon, and push them to --registry; prints each image by digest
  pulumi-env
          print the shell exports that run the toolchain's Pulumi CLI offline against a
          file:// backend in <state-dir>/pulumi (installing its Kubernetes provider there
          once): eval "$(./kubegate dev pulumi-env)", then pulumi up; see README
          "Roll out to a fleet"

Options:
  --state-dir DIR   where the stack keeps certificates, logs and kubeconfigs
                    (default .state or $KUBEGATE_STATE_DIR)
  --detach          (up) start in the background and return once it is ready
  --edge-port N     (up) the edge's HTTPS port (default: a free port)
  --clusters N      (up) how many local clusters to start (default 1)
  --direct          (up) register the clusters with the edge directly instead of through
                    agents and tunnels (no firewall, no per-user ServiceAccounts); they are
                    the same whole clusters (scheduler, controller manager, a kwok node)
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
  -o, --output F    (status) text (default) or json, everything stack.json records
  --registry H:P    (images) the registry to push to, e.g. 127.0.0.1:5000 (plain HTTP on
                    loopback); the toolchain's crane serves one: crane registry serve
  --results FILE    (images) where to write the references, digests and contents
                    (default <state-dir>/images.json)

'up', 'images' and 'pulumi-env' install the toolchain first if it is missing (Envoy, etcd, Kubernetes,
crane; several minutes the first time); nothing else does.
`;

export const devCommand = {
  summary: 'run a local kubegate stack (up, down, status), build the images (images)',
  subcommands: ['up', 'down', 'status', 'images', 'pulumi-env'],
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
        registry: { type: 'string' },
        results: { type: 'string' },
        ...OUTPUT_OPTION,
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
    if (values.output !== undefined && sub !== 'status') throw new UsageError('-o is for dev status');
    if ((values.registry !== undefined || values.results !== undefined) && sub !== 'images') throw new UsageError('--registry and --results are for dev images');
    if (sub === 'images') {
      if (values.registry === undefined) throw new UsageError('dev images needs --registry HOST:PORT (the registry to push to)');
      if (!/^[a-z0-9.-]+(:\d{1,5})?$/i.test(values.registry)) throw new UsageError(`--registry "${values.registry}" is not HOST or HOST:PORT`);
      return images(values.registry, path.resolve(values.results ?? path.join(stateDir, 'images.json')));
    }
    if (sub === 'pulumi-env') return pulumiEnv(stateDir);
    const format = outputFormat(values.output, ['text', 'json']);
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
        return status(stateDir, format);
      default:
        throw new UsageError(sub ? `unknown subcommand "${sub}"; use up, down, status, images or pulumi-env` : 'say up, down, status, images or pulumi-env; see --help');
    }
  },
};
