/**
 * The few Kubernetes object shapes the agent reads and writes, typed only as far as the agent
 * looks into them. Unknown fields are kept (the index signature) so a read-modify-write does
 * not drop what a newer apiserver or another tool put there.
 */

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items: readonly T[];
}

export interface ServiceAccount extends KubeObject {
  readonly kind: 'ServiceAccount';
  readonly automountServiceAccountToken?: boolean;
}

export interface RbacSubject {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly apiGroup?: string;
}

export interface RoleRef {
  readonly apiGroup: string;
  readonly kind: string;
  readonly name: string;
}

/** A RoleBinding or a ClusterRoleBinding: the same shape, namespaced or not. */
export interface Binding extends KubeObject {
  readonly kind: 'RoleBinding' | 'ClusterRoleBinding';
  readonly subjects?: readonly RbacSubject[];
  readonly roleRef: RoleRef;
}

/** What GET /version answers. */
export interface ServerVersion {
  readonly major: string;
  readonly minor: string;
  readonly gitVersion: string;
  readonly [field: string]: unknown;
}
