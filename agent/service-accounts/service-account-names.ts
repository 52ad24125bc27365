/**
 * Names, labels and annotations of the ServiceAccounts and bindings kubegate creates for users.
 *
 * User names are arbitrary strings (`alice@example.com`, `Bob Smith`, `Zoë`), Kubernetes names
 * are DNS-1123 labels. Everything is derived deterministically from the user name, so every
 * agent replica and every retry computes the same names: a race between two creators ends in
 * AlreadyExists, never in two objects. The readable prefix helps people reading `kubectl get`;
 * the hash makes names unique (two users whose names sanitize alike still differ by hash).
 */
import { createHash } from 'node:crypto';

export const DEFAULT_USERS_NAMESPACE = 'kubegate-users';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'kubegate';
/** sha256 of the user name, 32 hex digits: groups a user's objects without naming the user in a label. */
export const LABEL_USER_HASH = 'kubegate.io/user-hash';
/** On bindings: the ServiceAccount they grant to. Cleanup finds bindings by this label. */
export const LABEL_SERVICE_ACCOUNT = 'kubegate.io/service-account';
/**
 * On bindings: the namespace of that ServiceAccount. Scopes every binding query to one users
 * namespace, so two kubegate installations sharing a cluster never take each other's bindings
 * for orphans.
 */
export const LABEL_SERVICE_ACCOUNT_NAMESPACE = 'kubegate.io/service-account-namespace';
/** The exact user name: labels cannot hold arbitrary strings, annotations can. */
export const ANNOTATION_USER = 'kubegate.io/user';
/** RFC 3339 time of the last recorded use; idle removal reads it. */
export const ANNOTATION_LAST_USED = 'kubegate.io/last-used';

/** Longest readable prefix taken from the user name. */
const PREFIX_MAX = 30;
/** Hex digits of the user hash in the ServiceAccount name (40 bits; the full label hash backs it up). */
const NAME_HASH_HEX = 10;
/** Hex digits of the user hash in the label: 128 bits, so grouping by it never merges two users. */
const LABEL_HASH_HEX = 32;
/** Hex digits of the role-and-scope hash in binding names. */
const BINDING_HASH_HEX = 8;
export const MAX_NAME_LENGTH = 63;

const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Lowercase ASCII letters and digits separated by single dashes, at most `max` characters.
 * Accents are stripped first (Zoë → zoe) so names stay recognisable; anything else becomes a
 * dash. May return ''.
 */
export function sanitizeForName(text: string, max: number): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
}

/** The value of the kubegate.io/user-hash label for `user`. */
export function userHash(user: string): string {
  return sha256Hex(user).slice(0, LABEL_HASH_HEX);
}

/** `u-<readable prefix>-<10 hex of sha256(user)>`, or `u-<hash>` when nothing readable is left. */
export function serviceAccountName(user: string): string {
  const hash = userHash(user).slice(0, NAME_HASH_HEX);
  const prefix = sanitizeForName(user, PREFIX_MAX);
  return prefix ? `u-${prefix}-${hash}` : `u-${hash}`;
}

/** Where a ClusterRole is bound: the whole cluster (ClusterRoleBinding) or one namespace (RoleBinding). */
export type BindingScope = { readonly kind: 'cluster' } | { readonly kind: 'namespace'; readonly namespace: string };

/**
 * `<service account>-<readable role>-<8 hex of hash(service account, role, scope)>`, at most 63
 * characters. The role part gets whatever room the ServiceAccount name leaves; the hash keeps
 * names distinct when two long roles share a prefix.
 */
export function bindingName(serviceAccount: string, clusterRole: string, scope: BindingScope): string {
  const scopeKey = scope.kind === 'cluster' ? 'cluster' : `namespace/${scope.namespace}`;
  const hash = sha256Hex(`${serviceAccount}\n${clusterRole}\n${scopeKey}`).slice(0, BINDING_HASH_HEX);
  const room = MAX_NAME_LENGTH - serviceAccount.length - BINDING_HASH_HEX - 2;
  const role = room > 0 ? sanitizeForName(clusterRole, room) : '';
  return role ? `${serviceAccount}-${role}-${hash}` : `${serviceAccount}-${hash}`;
}

/** A DNS-1123 label: what ServiceAccount names (and our binding names) must be. */
export function isDnsLabel(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name);
}

/** The username kube-apiserver gives a ServiceAccount, and the one the proxy impersonates. */
export function serviceAccountUsername(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

/** Labels every object kubegate makes for `user` carries. */
export function userLabels(user: string): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_USER_HASH]: userHash(user) };
}

/** Selects the per-user ServiceAccounts (and not other kubegate objects in the namespace). */
export const MANAGED_SERVICE_ACCOUNT_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE},${LABEL_USER_HASH}`;
/**
 * Selects the bindings kubegate made for the ServiceAccounts of `usersNamespace` (or of one of
 * them). The service-account labels are required, so objects of kubegate's own installation
 * that carry managed-by (the agent's own bindings) are never touched.
 */
export function managedBindingSelector(usersNamespace: string, serviceAccount?: string): string {
  const account = serviceAccount === undefined ? LABEL_SERVICE_ACCOUNT : `${LABEL_SERVICE_ACCOUNT}=${serviceAccount}`;
  return `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE},${LABEL_SERVICE_ACCOUNT_NAMESPACE}=${usersNamespace},${account}`;
}
