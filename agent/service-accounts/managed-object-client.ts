/**
 * The service account manager's reads and writes of the objects it manages in one cluster:
 * listing, getting, creating and deleting ServiceAccounts and their bindings, with kube's
 * NotFound and AlreadyExists outcomes turned into answers. Apart from the manager so that its
 * file is the lifecycle (what to do and in which order) rather than the API calls.
 */
import type { AgentLogger } from '../log/agent-logger';
import type { KubeClient } from '../kubernetes/kube-client';
import { KubeForbiddenError, KubeNotFoundError, isAlreadyExists, isConflict, isNotFound } from '../kubernetes/kube-errors';
import type { Binding, ServiceAccount } from '../kubernetes/kube-objects';
import { clusterRoleBindingPath, roleBindingPath, serviceAccountPath } from '../kubernetes/kube-paths';
import type { BindingKind, DesiredBinding } from './desired-access';
import { bindingManifest, bindingMatches } from './managed-objects';
import type { ManagedBinding, SkippedBinding } from './service-account-manager-types';
import { MANAGED_SERVICE_ACCOUNT_SELECTOR, managedBindingSelector } from './service-account-names';

/** A binding as listed, with the kind its list said (list items carry no kind of their own). */
export interface ListedBinding {
  readonly kind: BindingKind;
  readonly object: Binding;
}

/** A binding as the manager's results name it: kind, name, namespace (RoleBindings) and role. */
export function describeBinding(listed: ListedBinding): ManagedBinding {
  const { kind, object } = listed;
  return {
    kind,
    name: object.metadata.name,
    ...(kind === 'RoleBinding' ? { namespace: object.metadata.namespace } : {}),
    clusterRole: object.roleRef?.name ?? '',
  };
}

export class ManagedObjectClient {
  constructor(
    private readonly client: KubeClient,
    /** Where the per-user ServiceAccounts live. */
    private readonly namespace: string,
    private readonly logger: AgentLogger,
  ) {}

  /**
   * 'created', 'present' (someone else created the same binding meanwhile), or why its
   * namespace cannot take it.
   */
  async createBinding(user: string, serviceAccount: string, want: DesiredBinding): Promise<'created' | 'present' | SkippedBinding['reason']> {
    const path = want.kind === 'ClusterRoleBinding' ? clusterRoleBindingPath() : roleBindingPath(want.namespace!);
    const manifest = bindingManifest(user, this.namespace, serviceAccount, want);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.create(path, manifest);
        return 'created';
      } catch (err) {
        const unavailable = namespaceUnavailable(err);
        if (unavailable) return unavailable;
        if (!isAlreadyExists(err) || attempt > 0) throw err;
      }
      // AlreadyExists: fine if it is our binding (a racing ensure); if a binding of that name
      // grants something else it is replaced once (roleRef is immutable, so no update).
      const objectPath = want.kind === 'ClusterRoleBinding' ? clusterRoleBindingPath(want.name) : roleBindingPath(want.namespace!, want.name);
      const current = await this.getOrUndefined<Binding>(objectPath);
      if (current && bindingMatches(current, want, this.namespace, serviceAccount)) return 'present';
      if (current) await this.deleteBinding({ kind: want.kind, object: current });
    }
  }

  /**
   * Bindings first, then the account (see the class comment). With `resourceVersion`, the
   * account is deleted only if unchanged since it was read; a Conflict leaves it in place.
   */
  async removeServiceAccount(name: string, resourceVersion: string | undefined): Promise<{ serviceAccountRemoved: boolean; bindingsRemoved: number }> {
    let bindingsRemoved = 0;
    for (const listed of await this.listBindings(managedBindingSelector(this.namespace, name))) {
      if (await this.deleteBinding(listed)) bindingsRemoved++;
    }
    try {
      await this.client.delete(serviceAccountPath(this.namespace, name), resourceVersion ? { preconditions: { resourceVersion } } : {});
      return { serviceAccountRemoved: true, bindingsRemoved };
    } catch (err) {
      if (isNotFound(err)) return { serviceAccountRemoved: false, bindingsRemoved };
      if (isConflict(err)) {
        this.logger.warn('service account changed while being removed; kept it (its bindings are gone until the next ensure)', { serviceAccount: name });
        return { serviceAccountRemoved: false, bindingsRemoved };
      }
      throw err;
    }
  }

  /** Deletes a binding; false if it was already gone. */
  async deleteBinding(listed: ListedBinding): Promise<boolean> {
    const { name, namespace } = listed.object.metadata;
    const path = listed.kind === 'ClusterRoleBinding' ? clusterRoleBindingPath(name) : roleBindingPath(namespace!, name);
    try {
      await this.client.delete(path);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async listServiceAccounts(): Promise<ServiceAccount[]> {
    const list = await this.client.list<ServiceAccount>(serviceAccountPath(this.namespace), { labelSelector: MANAGED_SERVICE_ACCOUNT_SELECTOR });
    return [...list.items];
  }

  /** RoleBindings of every namespace, then ClusterRoleBindings, matching `labelSelector`. */
  async listBindings(labelSelector: string): Promise<ListedBinding[]> {
    const [roleBindings, clusterRoleBindings] = await Promise.all([
      this.client.list<Binding>(roleBindingPath(), { labelSelector }),
      this.client.list<Binding>(clusterRoleBindingPath(), { labelSelector }),
    ]);
    return [
      ...roleBindings.items.map((object) => ({ kind: 'RoleBinding' as const, object })),
      ...clusterRoleBindings.items.map((object) => ({ kind: 'ClusterRoleBinding' as const, object })),
    ];
  }

  getServiceAccount(name: string): Promise<ServiceAccount | undefined> {
    return this.getOrUndefined<ServiceAccount>(serviceAccountPath(this.namespace, name));
  }

  private async getOrUndefined<T>(path: string): Promise<T | undefined> {
    try {
      return await this.client.get<T>(path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

/**
 * Whether a failed create means the binding's namespace cannot take it: missing (404 whose
 * Status names a namespace) or being deleted (403 with a NamespaceTerminating cause).
 */
function namespaceUnavailable(err: unknown): SkippedBinding['reason'] | undefined {
  if (err instanceof KubeNotFoundError && err.details?.kind === 'namespaces') return 'namespace-not-found';
  if (err instanceof KubeForbiddenError && err.details?.causes?.some((c) => c.reason === 'NamespaceTerminating')) return 'namespace-terminating';
  return undefined;
}
