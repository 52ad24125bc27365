/**
 * The per-user ServiceAccount lifecycle in one cluster.
 *
 * For each kubegate user the agent keeps one ServiceAccount in the users namespace (default
 * kubegate-users), bound to the ClusterRoles kubegate's policy grants; the in-cluster proxy
 * impersonates it toward kube-apiserver. Accounts nobody used for a while are removed.
 *
 * Rules this class keeps, and why:
 *   - Names are derived from the user name (service-account-names.ts), so every operation is
 *     idempotent and two racing creators collide on AlreadyExists instead of making two objects.
 *   - Bindings are what grant access; the ServiceAccount object itself grants nothing. With
 *     impersonation the apiserver does not even check that the ServiceAccount exists, so
 *     bindings are removed before their ServiceAccount, and ensure() removes bindings that are
 *     no longer wanted before it creates new ones (least privilege first).
 *   - Only objects carrying kubegate's labels are ever changed or deleted.
 *   - Within one agent, operations on the same user run one at a time (KeyedLock); across
 *     agents, AlreadyExists, NotFound and resourceVersion preconditions settle races.
 */
import type { AgentLogger } from '../log/agent-logger';
import { silentAgentLogger } from '../log/agent-logger';
import type { KubeClient } from '../kubernetes/kube-client';
import { isAlreadyExists, isConflict } from '../kubernetes/kube-errors';
import type { ServiceAccount } from '../kubernetes/kube-objects';
import { serviceAccountPath } from '../kubernetes/kube-paths';
import { bindingKey, clusterRolesOf, desiredBindings, type UserAccess } from './desired-access';
import { KeyedLock } from './keyed-lock';
import { LastUsedTracker } from './last-used-tracker';
import { describeBinding, ManagedObjectClient } from './managed-object-client';
import {
  bindingGrantsOnlyTo,
  bindingMatches,
  lastUsedAnnotation,
  recordedLastUse,
  serviceAccountManifest,
  serviceAccountOfBinding,
  userHashOf,
  userOf,
} from './managed-objects';
import { ClusterRoleNotAllowedError, InvalidUserAccessError, ServiceAccountCollisionError } from './service-account-errors';
import type {
  EnsureResult,
  ManagedBinding,
  ManagedServiceAccount,
  ReconcileResult,
  RemovedBinding,
  RemoveResult,
  ServiceAccountManagerProps,
  SkippedBinding,
} from './service-account-manager-types';
import {
  ANNOTATION_LAST_USED,
  DEFAULT_USERS_NAMESPACE,
  LABEL_MANAGED_BY,
  LABEL_USER_HASH,
  MANAGED_BY_VALUE,
  managedBindingSelector,
  serviceAccountName,
  serviceAccountUsername,
  userHash,
} from './service-account-names';

const DEFAULT_WRITE_INTERVAL_MS = 60_000;

export class ServiceAccountManager {
  readonly namespace: string;
  private readonly client: KubeClient;
  private readonly allowed: ReadonlySet<string> | undefined;
  private readonly logger: AgentLogger;
  private readonly now: () => number;
  private readonly writeIntervalMs: number;
  private readonly lock = new KeyedLock();
  private readonly tracker = new LastUsedTracker();
  private readonly objects: ManagedObjectClient;

  constructor(props: ServiceAccountManagerProps) {
    this.client = props.client;
    this.namespace = props.namespace ?? DEFAULT_USERS_NAMESPACE;
    this.allowed = props.allowedClusterRoles ? new Set(props.allowedClusterRoles) : undefined;
    this.logger = props.logger ?? silentAgentLogger;
    this.now = props.now ?? Date.now;
    this.writeIntervalMs = props.lastUsedWriteIntervalMs ?? DEFAULT_WRITE_INTERVAL_MS;
    this.objects = new ManagedObjectClient(this.client, this.namespace, this.logger);
  }

  /** The user name the proxy sends as Impersonate-User for `user`. */
  impersonationUser(user: string): string {
    return serviceAccountUsername(this.namespace, serviceAccountName(user));
  }

  /**
   * Makes the cluster match `access`: the user's ServiceAccount exists and holds exactly the
   * bindings the access calls for. Idempotent, safe to race with itself (here or in another
   * agent). Counts as a use of the account.
   *
   * A grant naming a namespace that does not exist (or is being deleted) is skipped and
   * reported in `skipped` rather than failing the whole call: the rest of the user's access is
   * still correct, and the next ensure() creates the binding once the namespace exists.
   */
  async ensure(access: UserAccess): Promise<EnsureResult> {
    this.checkAccess(access);
    const serviceAccount = serviceAccountName(access.user);
    return this.lock.run(serviceAccount, () => this.ensureLocked(access, serviceAccount));
  }

  /** Records a use of `user`'s account in memory; flushLastUsed() writes it out. */
  touch(user: string, at: Date | number = this.now()): void {
    this.tracker.touch(user, typeof at === 'number' ? at : at.getTime());
  }

  /**
   * Writes kubegate.io/last-used for accounts whose recorded use is newer than their annotation
   * by more than the write interval. Returns the users whose annotation was written. A failure
   * for one user is logged and retried on the next flush; it does not stop the others.
   */
  async flushLastUsed(): Promise<string[]> {
    const written: string[] = [];
    for (const { user } of this.tracker.due(this.writeIntervalMs)) {
      try {
        const wrote = await this.lock.run(serviceAccountName(user), () => this.writeLastUsed(user));
        if (wrote) written.push(user);
      } catch (err) {
        this.logger.warn('could not record last use; will retry on the next flush', { user, error: err });
      }
    }
    return written;
  }

  /**
   * Removes every account (and its bindings) whose last use, the later of its annotation and
   * what this process recorded, is more than `idleMs` ago. Returns the users removed.
   */
  async removeIdle(idleMs: number): Promise<string[]> {
    const accounts = await this.objects.listServiceAccounts();
    const removed = new Set<string>();
    for (const sa of accounts) {
      const user = userOf(sa);
      if (user === undefined || !this.isIdle(sa, user, idleMs)) continue;
      const name = sa.metadata.name;
      const done = await this.lock.run(name, async () => {
        // Look again under the lock: a use or an ensure() may have come in since the list.
        const fresh = await this.objects.getServiceAccount(name);
        if (!fresh || userOf(fresh) !== user || !this.isIdle(fresh, user, idleMs)) return false;
        await this.objects.removeServiceAccount(name, fresh.metadata.resourceVersion);
        return true;
      });
      if (done) {
        removed.add(user);
        if (serviceAccountName(user) === name) this.tracker.forget(user);
        this.logger.info('removed idle service account', { user, serviceAccount: name, idleMs });
      }
    }
    return [...removed];
  }

  /** Removes every ServiceAccount kubegate made for `user`, and all their bindings. */
  async remove(user: string): Promise<RemoveResult> {
    const canonical = serviceAccountName(user);
    const labelled = await this.client.list<ServiceAccount>(serviceAccountPath(this.namespace), {
      labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE},${LABEL_USER_HASH}=${userHash(user)}`,
    });
    const names = new Set([canonical, ...labelled.items.filter((sa) => userOf(sa) === user).map((sa) => sa.metadata.name)]);
    let bindingsRemoved = 0;
    const serviceAccountsRemoved: string[] = [];
    for (const name of names) {
      const result = await this.lock.run(name, () => this.objects.removeServiceAccount(name, undefined));
      bindingsRemoved += result.bindingsRemoved;
      if (result.serviceAccountRemoved) serviceAccountsRemoved.push(name);
    }
    this.tracker.forget(user);
    this.logger.info('removed user service account', { user, serviceAccounts: serviceAccountsRemoved, bindingsRemoved });
    return { serviceAccountsRemoved, bindingsRemoved };
  }

  /**
   * Repairs what kubegate manages in the cluster:
   *   - bindings whose ServiceAccount does not exist (orphans, which still grant: see the class
   *     comment) or whose subjects differ from their label (tampered) are deleted;
   *   - several ServiceAccounts for one user (e.g. from an older naming scheme or a hand-made
   *     copy) collapse into one: the canonically named one if present, else the most recently
   *     used; the others go with their bindings;
   *   - with `desired`, every user in it converges as with ensure().
   *
   * Users missing from `desired` are left alone: `desired` may be a partial view (e.g. only the
   * users of one policy change), and their accounts go through idle removal or remove(). Pass
   * `{ user, clusterRoles: [] }` to strip a user's bindings now.
   */
  async reconcile(desired?: readonly UserAccess[]): Promise<ReconcileResult> {
    // Bindings are listed before ServiceAccounts: ensure() creates the account before its
    // bindings, so every binding seen here belongs to an account the later list will show
    // (unless it really is gone). The other order could mistake fresh bindings for orphans.
    const bindings = await this.objects.listBindings(managedBindingSelector(this.namespace));
    const accounts = await this.objects.listServiceAccounts();

    const unrecognized: string[] = [];
    const groups = new Map<string, ServiceAccount[]>();
    for (const sa of accounts) {
      const user = userOf(sa);
      const hash = userHashOf(sa);
      if (user === undefined || hash === undefined || userHash(user) !== hash) {
        unrecognized.push(sa.metadata.name);
        continue;
      }
      groups.set(hash, [...(groups.get(hash) ?? []), sa]);
    }

    const removedDuplicates: { user: string; serviceAccount: string; kept: string }[] = [];
    const gone = new Set<string>();
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      const user = userOf(group[0])!;
      const keep = this.chooseSurvivor(group, user);
      for (const sa of group) {
        if (sa === keep) continue;
        await this.lock.run(sa.metadata.name, () => this.objects.removeServiceAccount(sa.metadata.name, undefined));
        gone.add(sa.metadata.name);
        removedDuplicates.push({ user, serviceAccount: sa.metadata.name, kept: keep.metadata.name });
        // The survivor inherits the latest recorded use, so collapsing never makes a user look idle.
        const lastUse = recordedLastUse(sa);
        if (lastUse !== undefined) this.tracker.touch(user, lastUse);
        this.logger.warn('removed duplicate service account', { user, serviceAccount: sa.metadata.name, kept: keep.metadata.name });
      }
    }

    const existing = new Set(accounts.map((sa) => sa.metadata.name).filter((n) => !gone.has(n)));
    const removedBindings: RemovedBinding[] = [];
    for (const listed of bindings) {
      const serviceAccount = serviceAccountOfBinding(listed.object)!;
      if (gone.has(serviceAccount)) continue; // already removed with its duplicate account
      const tampered = !bindingGrantsOnlyTo(listed.object, this.namespace, serviceAccount);
      if (!tampered && existing.has(serviceAccount)) continue;
      const removed = await this.lock.run(serviceAccount, async () => {
        // An orphan may have got its account since the list (an ensure() elsewhere); look again.
        if (!tampered && (await this.objects.getServiceAccount(serviceAccount))) return false;
        return this.objects.deleteBinding(listed);
      });
      if (removed) {
        const reason = tampered ? 'tampered' : 'orphan';
        removedBindings.push({ ...describeBinding(listed), serviceAccount, reason });
        this.logger.warn(`removed ${reason} binding`, { serviceAccount, binding: describeBinding(listed) });
      }
    }

    const ensured: EnsureResult[] = [];
    const failed: { user: string; error: Error }[] = [];
    for (const access of desired ?? []) {
      try {
        ensured.push(await this.ensure(access));
      } catch (err) {
        failed.push({ user: access.user, error: err as Error });
        this.logger.error('could not converge user during reconcile', { user: access.user, error: err });
      }
    }
    return { removedBindings, removedDuplicates, ensured, failed, unrecognized };
  }

  /** Every account kubegate manages here, with its bindings. */
  async list(): Promise<ManagedServiceAccount[]> {
    const accounts = await this.objects.listServiceAccounts();
    const bindings = await this.objects.listBindings(managedBindingSelector(this.namespace));
    const byAccount = new Map<string, ManagedBinding[]>();
    for (const listed of bindings) {
      const sa = serviceAccountOfBinding(listed.object)!;
      byAccount.set(sa, [...(byAccount.get(sa) ?? []), describeBinding(listed)]);
    }
    const result: ManagedServiceAccount[] = [];
    for (const sa of accounts) {
      const user = userOf(sa);
      if (user === undefined) continue;
      const lastUse = this.lastUse(sa, user);
      result.push({
        user,
        serviceAccount: sa.metadata.name,
        namespace: this.namespace,
        lastUsed: lastUse === undefined ? undefined : new Date(lastUse),
        bindings: byAccount.get(sa.metadata.name) ?? [],
      });
    }
    return result;
  }

  private checkAccess(access: UserAccess): void {
    if (typeof access.user !== 'string' || access.user === '') throw new InvalidUserAccessError('a UserAccess needs a non-empty user name');
    if (!this.allowed) return;
    const refused = clusterRolesOf(access).filter((role) => !this.allowed!.has(role));
    if (refused.length > 0) throw new ClusterRoleNotAllowedError(access.user, refused, [...this.allowed]);
  }

  private async ensureLocked(access: UserAccess, serviceAccount: string): Promise<EnsureResult> {
    const { user } = access;
    const now = this.now();
    const desired = desiredBindings(access, serviceAccount);
    const desiredByKey = new Map(desired.map((d) => [bindingKey(d), d]));

    // 0. A ServiceAccount of this name that belongs to someone else: stop before touching its bindings.
    const existing = await this.objects.getServiceAccount(serviceAccount);
    if (existing && userOf(existing) !== user) throw new ServiceAccountCollisionError(user, serviceAccount, userOf(existing));

    // 1. Take away what is no longer granted, before anything new is granted.
    const present = new Set<string>();
    let bindingsRemoved = 0;
    for (const listed of await this.objects.listBindings(managedBindingSelector(this.namespace, serviceAccount))) {
      const key = bindingKey({ kind: listed.kind, namespace: listed.object.metadata.namespace, name: listed.object.metadata.name });
      const want = desiredByKey.get(key);
      if (want && bindingMatches(listed.object, want, this.namespace, serviceAccount)) {
        present.add(key);
        continue;
      }
      if (await this.objects.deleteBinding(listed)) bindingsRemoved++;
    }

    // 2. The account.
    const created = await this.ensureServiceAccount(user, serviceAccount, now, existing);

    // 3. What is missing.
    let bindingsCreated = 0;
    const skipped: SkippedBinding[] = [];
    for (const want of desired) {
      if (present.has(bindingKey(want))) continue;
      const outcome = await this.objects.createBinding(user, serviceAccount, want);
      if (outcome === 'created') bindingsCreated++;
      else if (outcome !== 'present') {
        skipped.push({ clusterRole: want.clusterRole, namespace: want.namespace!, reason: outcome });
        this.logger.warn('skipped binding: namespace unavailable', { user, clusterRole: want.clusterRole, namespace: want.namespace, reason: outcome });
      }
    }

    this.tracker.touch(user, now);
    const result: EnsureResult = { user, serviceAccount, namespace: this.namespace, created, bindingsCreated, bindingsRemoved, skipped };
    if (created || bindingsCreated > 0 || bindingsRemoved > 0) this.logger.info('converged user service account', { ...result });
    return result;
  }

  /** Creates the account if `existing` is undefined; returns whether this call created it. */
  private async ensureServiceAccount(user: string, name: string, now: number, existing: ServiceAccount | undefined): Promise<boolean> {
    if (!existing) {
      try {
        await this.client.create(serviceAccountPath(this.namespace), serviceAccountManifest(user, this.namespace, name, new Date(now)));
        this.tracker.noteAnnotation(user, now);
        return true;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        existing = await this.objects.getServiceAccount(name);
        if (!existing) throw err; // created and deleted again in between: let the caller retry
      }
    }
    if (userOf(existing) !== user) throw new ServiceAccountCollisionError(user, name, userOf(existing));
    this.tracker.noteAnnotation(user, lastUsedAnnotation(existing));
    return false;
  }

  private async writeLastUsed(user: string): Promise<boolean> {
    const name = serviceAccountName(user);
    for (let attempt = 0; attempt < 2; attempt++) {
      const at = this.tracker.lastTouch(user);
      const sa = await this.objects.getServiceAccount(name);
      if (at === undefined || !sa) return false;
      if (userOf(sa) !== user) return false;
      const annotated = lastUsedAnnotation(sa);
      this.tracker.noteAnnotation(user, annotated);
      // Another writer (or an earlier flush) may already have recorded a use close enough.
      if (annotated !== undefined && at - annotated <= this.writeIntervalMs) return false;
      const updated: ServiceAccount = {
        ...sa,
        metadata: { ...sa.metadata, annotations: { ...sa.metadata.annotations, [ANNOTATION_LAST_USED]: new Date(at).toISOString() } },
      };
      try {
        // resourceVersion is kept from the read, so a concurrent change is a Conflict, not lost.
        await this.client.replace(serviceAccountPath(this.namespace, name), updated);
        this.tracker.noteAnnotation(user, at);
        return true;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    return false;
  }

  private isIdle(sa: ServiceAccount, user: string, idleMs: number): boolean {
    const lastUse = this.lastUse(sa, user);
    return lastUse !== undefined && this.now() - lastUse > idleMs;
  }

  private lastUse(sa: ServiceAccount, user: string): number | undefined {
    const recorded = recordedLastUse(sa);
    // In-memory uses belong to the canonical account; a duplicate only has its own record.
    const touched = serviceAccountName(user) === sa.metadata.name ? this.tracker.lastTouch(user) : undefined;
    if (recorded === undefined) return touched;
    return touched === undefined ? recorded : Math.max(recorded, touched);
  }

  private chooseSurvivor(group: readonly ServiceAccount[], user: string): ServiceAccount {
    const canonical = group.find((sa) => sa.metadata.name === serviceAccountName(user));
    if (canonical) return canonical;
    return [...group].sort((a, b) => (recordedLastUse(b) ?? 0) - (recordedLastUse(a) ?? 0) || a.metadata.name.localeCompare(b.metadata.name))[0];
  }
}
