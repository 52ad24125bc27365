/**
 * The control plane's agent port: AgentService (join, renew, sessions) and ADS for in-cluster
 * Envoys, both over TLS where the verified client certificate (agent CA) names the cluster.
 * An in-cluster Envoy may only read its own cluster's configuration; the edge's configuration
 * (with its keys) is served on the internal port, which agent certificates cannot open.
 * In-cluster Envoys also stream their access logs here (AccessLogService); the certificate,
 * never the entries, says which cluster reports them.
 * A replica that is stopping drains its agents: it refuses new sessions and asks the connected
 * agents to move to another replica (startDraining, askAgentsToMove).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/logger';
import type { ClusterRecord, Store } from '../store/store';
import type { SnapshotCache } from '../xds/snapshot-cache';
import { addAdsService, nodeMetadataString, type AdsNode } from '../xds/ads-server';
import { startGrpcServer, type RunningGrpcServer } from '../xds/grpc-server';
import { translateAgent } from '../in-cluster-translator/translate-agent';
import type { XdsResources } from '../xds/resources';
import { AgentHub } from './agent-hub';
import { addAgentService, peerCluster } from './agent-service';
import { serveAccessLogs, type AccessLogRefusal, type AccessLogWriter } from '../envoy-access-log/access-log-service';
import type { AccessLogRecord } from '../envoy-access-log/access-log-record';
import { AssertionSigner } from './identity-assertion';
import { DEFAULT_SERVICE_ACCOUNT_IDLE_TIMEOUT_MS } from '../policy-engine/cluster-settings-resolver';
import { NODE_METADATA_CLUSTER, NODE_METADATA_SECRETS_DIRECTORY } from '../../agent/protocol/identities';

export interface AgentGatewayProps {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  readonly store: Store;
  /** Serves in-cluster Envoys their configuration (ADS on the agent port); the owner publishes into it. */
  readonly cache: SnapshotCache;
  /**
   * Tells the owner's reconcile loop that in-cluster Envoys' configuration changed (an Envoy
   * connected, an agent said hello or left); the loop then publishes inClusterConfigurations().
   */
  readonly markDirty: (reason: 'agent') => void;
  readonly logger: Logger;
  readonly clock: () => number;
  /** The control plane's serving certificate (internal CA), which agents verify. */
  readonly serving: { readonly certPem: string; readonly keyPem: string };
  /** The internal CA: agents and in-cluster Envoys verify the control plane and edge with it. */
  readonly internalCaPem: string;
  readonly agentCaPem: string;
  readonly issueAgentCertificate: (cluster: string, publicKeyPem: string, now: Date) => string;
  readonly assertionSigningKeyPem: string;
  /** The edge's tunnel listener as clusters reach it. */
  readonly edgeTunnel: { readonly host: string; readonly port: number };
  /**
   * Where one cluster reaches the edge's tunnel listeners, one per edge replica, when that is
   * not edgeTunnel (the hub's replicas; the local stack's firewalled sites each see the host at
   * their own address). @default [edgeTunnel]
   */
  readonly edgeTunnelsFor?: (cluster: string) => readonly { readonly host: string; readonly port: number }[] | undefined;
  /**
   * Seconds without requests after which a cluster's agent removes a user's ServiceAccount, for
   * the cluster with the labels its agent reported. Asked at each welcome and again by
   * settingsChanged(). @default 8 h for every cluster
   */
  readonly idleTimeoutSeconds?: (cluster: string, labels: Readonly<Record<string, string>>) => number;
  /** @default 10 */
  readonly heartbeatIntervalSeconds?: number;
  /** How often in-cluster Envoys log an open stream (translateAgent's input). @default 60 */
  readonly accessLogFlushIntervalSeconds?: number;
  /**
   * Access-log entries an in-cluster Envoy sent, with the cluster its certificate names: only
   * a cluster's certificate opens the stream, and the entries' content is not trusted to say
   * whose they are. Called once per gRPC message, and must not throw.
   * @default none: the entries are taken and let go (the control plane says at start why it
   *   does not record them), so in-cluster Envoys do not retry a failing stream
   */
  readonly onClusterAccessLog?: (cluster: string, records: readonly AccessLogRecord[]) => void;
}

/** Without a policy view (tests, tools): the policies' own default for every cluster. */
const DEFAULT_IDLE_TIMEOUT_SECONDS = DEFAULT_SERVICE_ACCOUNT_IDLE_TIMEOUT_MS / 1000;

interface InClusterEnvoy {
  readonly cluster: string;
  readonly secretsDirectory: string;
}

export class AgentGateway {
  readonly hub: AgentHub;
  readonly signer: AssertionSigner;
  private server?: RunningGrpcServer;
  private readonly envoys = new Map<string, InClusterEnvoy>();
  private readonly idleTimeoutSeconds: (cluster: string, labels: Readonly<Record<string, string>>) => number;
  private unwatch?: () => void;
  /** A registration check runs; `again` when the store changed meanwhile and it must run once more. */
  private checking?: { again: boolean };
  private isDraining = false;

  private constructor(private readonly props: AgentGatewayProps, signer: AssertionSigner) {
    this.hub = new AgentHub({ store: props.store, logger: props.logger.child('agents'), clock: props.clock });
    this.signer = signer;
    this.hub.onSessionChange = () => this.props.markDirty('agent');
    this.idleTimeoutSeconds = props.idleTimeoutSeconds ?? (() => DEFAULT_IDLE_TIMEOUT_SECONDS);
  }

  static async start(props: AgentGatewayProps): Promise<AgentGateway> {
    const gateway = new AgentGateway(props, await AssertionSigner.fromPem(props.assertionSigningKeyPem));
    const log = props.logger.child('agent-port');
    gateway.server = await startGrpcServer({
      host: props.host ?? '127.0.0.1',
      port: props.port ?? 0,
      tls: { caPem: props.agentCaPem, certPem: props.serving.certPem, keyPem: props.serving.keyPem, clientCertificate: 'optional' },
      logger: log,
      register: (server) => {
        addAgentService(server, {
          store: props.store,
          hub: gateway.hub,
          logger: props.logger.child('agents'),
          clock: props.clock,
          issue: props.issueAgentCertificate,
          idleTimeoutSeconds: gateway.idleTimeoutSeconds,
          heartbeatIntervalSeconds: props.heartbeatIntervalSeconds,
          draining: () => gateway.isDraining,
        });
        addAdsService(server, props.cache, props.logger.child('agent-ads'), {
          authorizeNode: (node, call) => gateway.authorizeNode(node, peerCluster(call)?.cluster),
          onNode: (node) => gateway.nodeConnected(node),
        });
        const onClusterAccessLog = props.onClusterAccessLog ?? (() => undefined);
        serveAccessLogs(server, (call) => clusterAccessLogStream(peerCluster(call)?.cluster, onClusterAccessLog), props.logger.child('agent-accesslog'));
      },
    });
    log.info('agent port serving', { port: gateway.server.port });
    // Deregistration on any replica reaches the agent wherever it is connected: every replica
    // hears of every store change (PostgreSQL: LISTEN/NOTIFY) and checks its own agents.
    gateway.unwatch = props.store.watch((change) => {
      if (!change.sessionActivity && !change.clusterSeen) gateway.followRegistrations();
    });
    return gateway;
  }

  /**
   * Checks every connected agent against the clusters' registrations in the store: agents no
   * longer admitted are disconnected and told why (AgentHub.followRegistrations), and agents
   * whose cluster's labels changed get the idle period those select. Changes that arrive while
   * a check runs are covered by one more check after it.
   */
  private followRegistrations(): void {
    if (this.hub.connectedClusters().length === 0) return;
    if (this.checking) {
      this.checking.again = true;
      return;
    }
    const checking: { again: boolean } = { again: true };
    this.checking = checking;
    void (async () => {
      try {
        while (checking.again) {
          checking.again = false;
          if (this.hub.followRegistrations(await this.props.store.listClusters())) this.settingsChanged();
        }
      } catch (err) {
        // The next change, or the agent's next heartbeat (which finds a deleted record), checks again.
        this.props.logger.warn("could not check connected agents' registrations", { error: (err as Error).message });
      } finally {
        this.checking = undefined;
      }
    })();
  }

  get port(): number {
    if (!this.server) throw new Error('agent gateway is not started');
    return this.server.port;
  }

  /** Whether this replica is stopping (startDraining). */
  get draining(): boolean {
    return this.isDraining;
  }

  /** From now on new agent sessions are refused with UNAVAILABLE; open ones carry on. */
  startDraining(): void {
    this.isDraining = true;
  }

  /**
   * Asks every connected agent to move to another replica (make-before-break: it closes its
   * session here once a new one elsewhere is welcomed). @returns how many sessions were asked
   */
  askAgentsToMove(): number {
    return this.hub.askToReconnect('the kubegate controller replica this agent is connected to is stopping');
  }

  /** Where clusters dial the edge's tunnel listener. */
  get edgeTunnel(): { readonly host: string; readonly port: number } {
    return this.props.edgeTunnel;
  }

  /**
   * What idleTimeoutSeconds answers may have changed (a new policy set): connected agents whose
   * period differs from what they were told learn the new one now, without reconnecting.
   * @returns the clusters whose agents were told
   */
  settingsChanged(): string[] {
    return this.hub.idleTimeoutsChanged((session) => this.idleTimeoutSeconds(session.cluster, session.labels));
  }

  /** An in-cluster Envoy must hold its cluster's certificate and say where its secrets are. */
  private authorizeNode(node: AdsNode, certificateCluster: string | undefined): string | undefined {
    if (!certificateCluster) return 'xDS on the agent port needs the certificate the cluster\'s agent received at join';
    const claimed = nodeMetadataString(node, NODE_METADATA_CLUSTER);
    if (claimed !== certificateCluster) return `this certificate is for cluster "${certificateCluster}", but the node claims "${claimed ?? ''}"`;
    const dir = nodeMetadataString(node, NODE_METADATA_SECRETS_DIRECTORY);
    if (!dir || !dir.startsWith('/')) return `node metadata ${NODE_METADATA_SECRETS_DIRECTORY} must name the absolute directory of the agent's secrets`;
    const existing = this.envoys.get(node.id ?? '');
    if (existing && existing.cluster !== certificateCluster) return `node id "${node.id}" belongs to cluster "${existing.cluster}"`;
    return undefined;
  }

  private nodeConnected(node: AdsNode): void {
    const cluster = nodeMetadataString(node, NODE_METADATA_CLUSTER)!;
    this.envoys.set(node.id!, { cluster, secretsDirectory: nodeMetadataString(node, NODE_METADATA_SECRETS_DIRECTORY)! });
    this.props.markDirty('agent');
  }

  /**
   * The configuration of every connected in-cluster Envoy, by node id. It needs what the
   * cluster's agent said in its hello (the apiserver's address and CA): from the agent's
   * session on this replica, or else from the cluster's record in the store (the agent is
   * connected to another replica, which recorded its hello). Until either says, the Envoy is
   * left out, and its requests stay open and unanswered.
   */
  inClusterConfigurations(records: ReadonlyMap<string, ClusterRecord> = new Map()): Map<string, XdsResources> {
    const configurations = new Map<string, XdsResources>();
    for (const [nodeId, envoy] of this.envoys) {
      const apiserver = this.apiserverOf(envoy.cluster, records.get(envoy.cluster));
      if (!apiserver) continue;
      try {
        configurations.set(
          nodeId,
          translateAgent({
            nodeId,
            cluster: envoy.cluster,
            edgeTunnels: this.props.edgeTunnelsFor?.(envoy.cluster) ?? [this.props.edgeTunnel],
            apiserver,
            edgeCaPem: this.props.internalCaPem,
            assertionJwks: this.signer.jwks(),
            secretsDirectory: envoy.secretsDirectory,
            ...(this.props.accessLogFlushIntervalSeconds !== undefined && { accessLogFlushIntervalSeconds: this.props.accessLogFlushIntervalSeconds }),
          }),
        );
      } catch (err) {
        this.props.logger.error('could not configure an in-cluster Envoy', { node: nodeId, cluster: envoy.cluster, error: (err as Error).message });
      }
    }
    return configurations;
  }

  private apiserverOf(cluster: string, record: ClusterRecord | undefined): { host: string; port: number; caPem: string } | undefined {
    const hello = this.hub.session(cluster)?.hello;
    if (hello?.apiserver_ca_pem && hello.apiserver_host && hello.apiserver_port) return { host: hello.apiserver_host, port: hello.apiserver_port, caPem: hello.apiserver_ca_pem };
    if (record?.apiserverCaPem && record.apiserverHost && record.apiserverPort) return { host: record.apiserverHost, port: record.apiserverPort, caPem: record.apiserverCaPem };
    return undefined;
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    this.hub.close();
    await this.server?.stop();
  }
}

/**
 * An access-log stream on the agent port: accepted only from a cluster's certificate (the
 * handshake lets a joining agent in without one), whose cluster every entry is then about.
 */
function clusterAccessLogStream(cluster: string | undefined, onClusterAccessLog: (cluster: string, records: readonly AccessLogRecord[]) => void): AccessLogWriter | AccessLogRefusal {
  if (!cluster) return { code: grpc.status.UNAUTHENTICATED, details: "access logs on the agent port need the certificate the cluster's agent received at join" };
  return { writeBatch: (records) => onClusterAccessLog(cluster, records) };
}
