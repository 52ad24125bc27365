/**
 * What an operator says about a hub: KubegateHubProps, at most two levels deep
 * (`controller.replicas`, `store.postgresUrl`) so that `kubegate manifests hub --set KEY=VALUE`
 * reaches each of them, and the one error bad props raise. What the props must be is checked in
 * hub-props-schema.ts and hub-settings.ts, which also fill in the defaults documented here.
 */

/** Requests and limits of one container, as Kubernetes quantities; defaults per component (see KubegateHubProps). */
export interface HubResources {
  /** CPU the container is guaranteed: 100m, 2. @default the component's */
  readonly cpuRequest?: string;
  /** The most CPU it may use (the edge runs one worker per whole CPU of it). @default the component's */
  readonly cpuLimit?: string;
  /** Memory it is guaranteed, in Mi or Gi. @default the component's */
  readonly memoryRequest?: string;
  /** The most memory it may use, in Mi or Gi; above it the container is restarted. @default the component's */
  readonly memoryLimit?: string;
}

export interface KubegateHubProps {
  /** Where every object of the hub lives (created by the construct). @default 'kubegate-system' */
  readonly namespace?: string;
  /** Container images, by digest in production (`kubegate dev images` builds them). */
  readonly images: {
    readonly controller: string;
    /** The edge's Envoy, and member clusters' in-cluster Envoy in install links. */
    readonly envoy: string;
    /** The agent image install links deploy (needed by agentInstall). @default none */
    readonly agent?: string;
  };
  /**
   * The edge's public URL, https://HOST[:PORT], as users' kubectl reaches it: written into every
   * kubeconfig. Its port is the edge Service's user port. @default port 443
   */
  readonly edgeUrl: string;
  /**
   * Where member clusters' in-cluster Envoys reach the first edge replica's tunnel listener,
   * HOST:PORT. Each replica has a tunnel Service of its own, and every cluster keeps tunnels to
   * each: replica i is at the same host, port + i.
   * @default edgeUrl's host with ports.tunnel (with one replica the edge Service carries it; more
   * replicas' load balancers must answer there), or with NodePort its fixed nodePorts.tunnel
   */
  readonly edgeTunnelAddress?: string;
  /** The controller. @default 1 replica, 100m/1 CPU, 128Mi/512Mi memory */
  readonly controller?: HubResources & {
    /** More than one needs an external PostgreSQL (store.postgresUrl or store.postgresSecret). @default 1 */
    readonly replicas?: number;
  };
  /** The edge Envoy. @default 1 replica, 100m/2 CPU, 128Mi/1Gi memory */
  readonly edge?: HubResources & {
    /**
     * Envoys behind the edge Service, a StatefulSet. Every member cluster keeps tunnels to each
     * (one tunnel Service per replica, at consecutive ports: edgeTunnelAddress), so any replica
     * serves any cluster. Two or more let the edge itself be upgraded without a failed request:
     * replicas are replaced one at a time, and each takes users' requests only once the
     * clusters' tunnels have reached it. @default 1
     */
    readonly replicas?: number;
    /** Listeners users' filter chains are split across (a power of two, 1-256). @default the controller's (16) */
    readonly userShards?: number;
    /** Envoy's admin port, on the pod's loopback only. @default 9901 */
    readonly adminPort?: number;
  };
  /**
   * The store. Give a PostgreSQL URL (put into the controller's config Secret) or an existing
   * Secret holding one; otherwise SQLite on a PersistentVolumeClaim, for one replica only.
   * @default SQLite, 1Gi, the cluster's default StorageClass
   */
  readonly store?: {
    readonly postgresUrl?: string;
    /** An existing Secret in the namespace whose key (postgresSecretKey) holds the URL. */
    readonly postgresSecret?: string;
    /** @default 'url' */
    readonly postgresSecretKey?: string;
    /** @default '1Gi' */
    readonly sqliteVolumeSize?: string;
    /** @default the cluster's default StorageClass */
    readonly sqliteStorageClass?: string;
  };
  /** How the edge and the controller's public ports (agent, api) leave the cluster. @default 'LoadBalancer' */
  readonly serviceType?: 'LoadBalancer' | 'NodePort';
  /**
   * One-command imports: `kubegate cluster add NAME` prints a `kubectl apply -f` line that
   * installs and joins the agent in a member cluster. The controller serves the one-time links
   * on ports.install through its public Service. Needs images.agent. @default off
   */
  readonly agentInstall?: {
    /** Where installed agents reach the hub's agent port (the public controller Service), HOST:PORT. */
    readonly hubAgentEndpoint: string;
    /**
     * The links' base, https://HOST[:PORT], as member clusters' admins reach the install port
     * (with NodePort: a node's address and nodePorts.install). Its host is in the listener's certificate.
     */
    readonly publicUrl: string;
    /** ClusterRoles kubegate may bind users to in imported clusters. @default none */
    readonly allowedClusterRoles?: readonly string[];
    /** A publicly trusted TLS front serves publicUrl: print a plain `kubectl apply -f URL`. @default false */
    readonly publiclyTrusted?: boolean;
    /** A link's lifetime when `cluster add` names none (1s to 24h). @default '15m' */
    readonly tokenTtl?: string;
  };
  /**
   * Fixed nodePorts for the public Services' ports; `tunnel` is the first edge replica's, and
   * replica i's tunnel Service takes tunnel + i. @default allocated by Kubernetes
   */
  readonly nodePorts?: { readonly https?: number; readonly tunnel?: number; readonly agent?: number; readonly api?: number; readonly install?: number };
  /** Annotations of both public Services (a cloud's load balancer settings). @default none */
  readonly serviceAnnotations?: Readonly<Record<string, string>>;
  /**
   * Ports the pods listen on (the pods run as non-root without capabilities: 1024 and up).
   * `edge` is the edge's user listener, `tunnel` its reverse-tunnel listener; the others are
   * the controller's (install serves agentInstall's links). @default xds 18000, authz 18001, status 18002, agent 18003, tunnel 18004, api 18005, install 18006, edge 8443
   */
  readonly ports?: { readonly xds?: number; readonly authz?: number; readonly status?: number; readonly agent?: number; readonly tunnel?: number; readonly api?: number; readonly install?: number; readonly edge?: number };
  /** Source CIDRs allowed to the admin API port. @default anywhere */
  readonly apiAllowedCidrs?: readonly string[];
  /**
   * DNS names or addresses operators reach the admin API at (the public controller Service's
   * address; with NodePort, the nodes' addresses, like edgeUrl's host): its certificate
   * carries them, so the CLI verifies it there. @default none: loopback only, for
   * `kubectl port-forward`
   */
  readonly apiServerNames?: readonly string[];
  /**
   * Labels of the namespaces allowed to scrape the metrics port (a ServiceMonitor's
   * Prometheus); empty means every namespace. @default { 'kubernetes.io/metadata.name': 'monitoring' }
   */
  readonly metricsNamespaceSelector?: Readonly<Record<string, string>>;
  /** The cluster's DNS domain, for the controller Service's name in the edge's bootstrap. @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** The longest lifetime of a user certificate (at most 24h). @default the controller's (24h) */
  readonly maxCertTtl?: string;
}

/** The props cannot make a working hub. */
export class KubegateHubPropsError extends Error {
  readonly code = 'ERR_KUBEGATE_HUB_PROPS';
  constructor(readonly problems: readonly string[]) {
    super(`invalid KubegateHub props: ${problems.join('; ')}`);
    this.name = 'KubegateHubPropsError';
  }
}
