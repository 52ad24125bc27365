/**
 * The Kubernetes Secrets a controller running in a cluster keeps its shared state in, so that
 * every replica, and every restart of one, uses the same CAs and hands the edge the same
 * credential. The controller creates them on first start (nothing secret is ever in the
 * manifests' text) and updates them when it renews what they hold; the hub's construct
 * (constructs/kubegate-hub.ts) grants it exactly these names and mounts the edge's one.
 */

/** The CAs and the certificates issued from them (the controller's PKI directory, file by file). */
export const HUB_PKI_SECRET = 'kubegate-pki';
/** The edge Envoy's client certificate toward the controller: tls.crt, tls.key, ca.crt. */
export const EDGE_XDS_CLIENT_SECRET = 'kubegate-edge-xds-client';
/** The operator's first credential for the admin API: key `kubeconfig`. */
export const ADMIN_KUBECONFIG_SECRET = 'kubegate-admin-kubeconfig';

/** The data keys of EDGE_XDS_CLIENT_SECRET, as the edge pod mounts them. */
export const EDGE_XDS_CLIENT_KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;
/** The data key of ADMIN_KUBECONFIG_SECRET. */
export const ADMIN_KUBECONFIG_KEY = 'kubeconfig';

/** Every Secret the controller reads and writes, for its Role. */
export const HUB_SECRETS: readonly string[] = [HUB_PKI_SECRET, EDGE_XDS_CLIENT_SECRET, ADMIN_KUBECONFIG_SECRET];
