/**
 * A complete local kubegate on loopback: real kube-apiservers (with etcd), the control plane,
 * and an edge Envoy programmed over xDS. The dev stack (`kubegate dev up`), the end-to-end
 * tests and the benchmarks all start it through here, so they exercise the same thing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadToolchain, type Toolchain } from '../toolchain/tools';
import type { Logger } from '../log/logger';
import { loadOrCreatePki, type KubegatePki } from '../pki/kubegate-pki';
import { startLocalCluster, type LocalCluster } from '../local-cluster/local-cluster';
import { getFreePorts } from '../process/free-port';
import { ControlPlane } from '../server/control-plane';
import { EnvoyProcess } from '../envoy/envoy-process';
import { AUTHZ_CLUSTER, CONTROL_PLANE_CLUSTER, edgeBootstrap } from '../envoy/bootstrap';
import type { RegisteredCluster } from '../translator/input';
import { ADMIN_GROUP, PROXY_IDENTITY_USER, clusterAccessManifests } from './cluster-access-rbac';
import { issueUserCertificate, DEFAULT_USER_CERT_TTL_MS } from '../credentials/user-certificate';
import { buildKubeconfig } from '../credentials/kubeconfig';

export const EDGE_NODE_ID = 'edge-0';
export const ADMIN_USER = 'admin';

export interface LocalStackProps {
  readonly stateDir: string;
  /** Names of the local clusters to start. @default ['dev'] */
  readonly clusters?: readonly string[];
  /** Edge HTTPS port; 0 picks a free one. @default 0 */
  readonly edgePort?: number;
  readonly logger: Logger;
  /** @default loadToolchain() */
  readonly toolchain?: Toolchain;
}

export interface KubeconfigRequest {
  readonly user: string;
  /** @default [] */
  readonly groups?: readonly string[];
  /** @default 8 h */
  readonly ttlMs?: number;
  /** Where to write it. @default <stateDir>/kubeconfigs/<user>.kubeconfig */
  readonly file?: string;
}

export class LocalStack {
  private readonly localClusters = new Map<string, LocalCluster>();

  private constructor(
    readonly props: LocalStackProps,
    readonly toolchain: Toolchain,
    readonly pki: KubegatePki,
    readonly controlPlane: ControlPlane,
    private edge: EnvoyProcess | undefined,
    readonly edgePort: number,
  ) {}

  get edgeUrl(): string {
    return `https://127.0.0.1:${this.edgePort}`;
  }

  get envoy(): EnvoyProcess {
    if (!this.edge) throw new Error('the edge Envoy is not running');
    return this.edge;
  }

  get clusters(): LocalCluster[] {
    return [...this.localClusters.values()];
  }

  get adminKubeconfigPath(): string {
    return path.join(this.props.stateDir, 'admin.kubeconfig');
  }

  get accessLogPath(): string {
    return path.join(this.props.stateDir, 'access-log.jsonl');
  }

  static async start(props: LocalStackProps): Promise<LocalStack> {
    const toolchain = props.toolchain ?? loadToolchain();
    fs.mkdirSync(props.stateDir, { recursive: true });
    const logger = props.logger;
    const pki = loadOrCreatePki({ stateDir: props.stateDir, now: new Date() });
    const [freeEdgePort, adminPort] = await getFreePorts(2);
    const edgePort = props.edgePort || freeEdgePort!;

    const controlPlane = await ControlPlane.start({
      tls: { caPem: pki.internalCa.certPem, serving: pki.controlPlane },
      edge: { nodeId: EDGE_NODE_ID, listenAddress: '127.0.0.1', listenPort: edgePort },
      edgeCertificates: { userCaPem: pki.userCa.certPem, serving: pki.edgeServing },
      controlPlaneCluster: CONTROL_PLANE_CLUSTER,
      authzCluster: AUTHZ_CLUSTER,
      accessLogFile: path.join(props.stateDir, 'access-log.jsonl'),
      logger: logger.child('control-plane'),
    });
    const stack = new LocalStack(props, toolchain, pki, controlPlane, undefined, edgePort);
    try {
      for (const name of props.clusters ?? ['dev']) await stack.addCluster(name);
      pki.issueComponent('edge-xds-client', new Date());
      stack.edge = await EnvoyProcess.start({
        binary: toolchain.envoy,
        bootstrap: edgeBootstrap({
          nodeId: EDGE_NODE_ID,
          adminPort: adminPort!,
          controlPlane: { host: '127.0.0.1', port: controlPlane.port },
          authz: { host: '127.0.0.1', port: controlPlane.authzPort },
          tls: pki.componentFiles('edge-xds-client'),
        }),
        adminPort: adminPort!,
        workDir: path.join(props.stateDir, 'edge'),
        component: 'edge-envoy',
        logger: logger.child('edge-envoy'),
      });
      stack.writeKubeconfig({ user: ADMIN_USER, groups: [ADMIN_GROUP], file: stack.adminKubeconfigPath });
      logger.info('local stack ready', { edge: stack.edgeUrl, clusters: stack.clusters.map((c) => c.name) });
      return stack;
    } catch (err) {
      await stack.stop();
      throw err;
    }
  }

  /**
   * Starts a local cluster, grants kubegate's proxy identity what it needs there and registers
   * it with the control plane; a running edge picks it up over xDS.
   */
  async addCluster(name: string): Promise<LocalCluster> {
    if (this.localClusters.has(name)) throw new Error(`cluster "${name}" is already running`);
    const cluster = await startLocalCluster({
      name,
      stateDir: path.join(this.props.stateDir, 'clusters', name),
      toolchain: this.toolchain,
      logger: this.props.logger.child(`cluster.${name}`),
    });
    this.localClusters.set(name, cluster);
    const applied = await cluster.kubectl(['apply', '-f', '-'], clusterAccessManifests());
    if (applied.code !== 0) throw new Error(`could not grant kubegate access in cluster "${name}": ${applied.stderr.trim()}`);
    const url = new URL(cluster.apiserverUrl);
    const registration: RegisteredCluster = {
      name,
      apiserver: { host: url.hostname, port: Number(url.port), caPem: cluster.caPem },
      proxyIdentity: cluster.issueClientCertificate(PROXY_IDENTITY_USER, []),
    };
    this.controlPlane.registerCluster(registration);
    return cluster;
  }

  /** Issues a user certificate and writes a kubeconfig with a context per cluster. */
  writeKubeconfig(req: KubeconfigRequest): string {
    const now = new Date();
    const cert = issueUserCertificate(this.pki.userCa, { user: req.user, groups: req.groups ?? [], ttlMs: req.ttlMs ?? DEFAULT_USER_CERT_TTL_MS, now });
    const file = req.file ?? path.join(this.props.stateDir, 'kubeconfigs', `${req.user}.kubeconfig`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const text = buildKubeconfig({
      edgeUrl: this.edgeUrl,
      edgeCaPem: this.pki.servingCa.certPem,
      user: req.user,
      clientCertPem: cert.certPem,
      clientKeyPem: cert.keyPem,
      clusters: this.controlPlane.clusters().map((c) => c.name).sort(),
    });
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
  }

  /** Stops the edge, the control plane and every cluster; safe to call twice. */
  async stop(): Promise<void> {
    await this.edge?.stop();
    await this.controlPlane.stop();
    await Promise.all(this.clusters.map((c) => c.stop()));
  }
}

export const startLocalStack = (props: LocalStackProps) => LocalStack.start(props);
