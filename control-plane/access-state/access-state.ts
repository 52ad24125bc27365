/**
 * The control plane's in-memory picture of who may do what: users and their groups, revoked
 * certificates, registered clusters and their labels, console activity, break-glass grants
 * and the policy engine built from the applied policy set. It is rebuilt from the store when
 * the store reports a change; the hot path only ever reads it.
 */
import type { StoreState, UserRecord, ConsoleSessionRecord, BreakGlassRecord, CertificateRecord } from '../store/store';
import type { ActiveGrant, ClusterInfo, EvaluationContext } from '../policy-engine/engine-contract';
import type { AuthorizationView } from '../authz/authorization-view';
import { PolicyEngine } from '../policy-engine/policy-engine';
import { loadPolicies, type PolicyDocument } from '../../policies/src';
import { DEFAULT_USER_SERVER_NAME_SUFFIX, userServerName } from '../identity/user-identity';
import { LiveCertificates } from './live-certificates';

/**
 * Whether a certificate just issued can be used at the edge: 'confirmed' once the edge has
 * accepted configuration with the user's filter chain, 'no-edge' when no edge is connected
 * (one that connects gets it before it serves), 'unconfirmed' when the edge did not accept it
 * in time.
 */
export type EdgeConfirmation = 'confirmed' | 'no-edge' | 'unconfirmed';

export interface AccessStateHooks {
  /**
   * Called when a certificate was just issued (and recorded in the store); resolves once the
   * user's filter chain is at the edge. The control plane supplies it. @default 'no-edge' at once
   */
  readonly certificateIssued?: (cert: CertificateRecord) => Promise<EdgeConfirmation>;
}

export class AccessState implements AuthorizationView {
  generation = 0;
  storeGeneration = -1;
  policyRevision = 0;
  readonly userServerNameSuffix: string;
  engine: PolicyEngine = new PolicyEngine([]);
  private documents: readonly PolicyDocument[] = [];
  private users = new Map<string, UserRecord>();
  private revoked = new Set<string>();
  private clusters = new Map<string, ClusterInfo>();
  private lastActivity = new Map<string, number>();
  private sessions = new Map<string, ConsoleSessionRecord>();
  private grants = new Map<string, ActiveGrant[]>();
  private breakGlass: readonly BreakGlassRecord[] = [];
  /** userServerName is a SHA-256 digest; ext_authz needs it on every request, so once per user. */
  private readonly serverNames = new Map<string, string>();
  /** Who holds a live certificate: filled from the store by the control plane, and by issuance. */
  private readonly certificates = new LiveCertificates();

  constructor(
    userServerNameSuffix: string = DEFAULT_USER_SERVER_NAME_SUFFIX,
    private readonly hooks: AccessStateHooks = {},
  ) {
    this.userServerNameSuffix = userServerNameSuffix;
  }

  /**
   * Replaces everything from a store snapshot. Stored policy files were validated when they
   * were applied; if they no longer load (a stricter validator after an upgrade), the
   * previous engine stays and the error is returned for the caller to report loudly.
   */
  applyStoreState(state: StoreState): Error | null {
    let policyError: Error | null = null;
    if (state.policySet.revision !== this.policyRevision || this.storeGeneration < 0) {
      try {
        const documents = loadPolicies(state.policySet.files.map((f) => ({ fileName: f.fileName, text: f.text })));
        this.engine = new PolicyEngine(documents);
        this.documents = documents;
        this.policyRevision = state.policySet.revision;
      } catch (err) {
        policyError = err as Error;
      }
    }
    const before = this.users;
    this.users = new Map(state.users.map((u) => [u.name, u]));
    // Certificates belong to the user record they were issued to: a deleted user's go, and so
    // do those of an earlier user with the same name.
    for (const user of [...this.certificates.users()]) {
      const current = this.users.get(user);
      const earlier = before.get(user);
      if (!current || (earlier && earlier.createdAt !== current.createdAt)) this.certificates.forget(user);
    }
    this.revoked = new Set(state.revokedSerials);
    this.sessions = new Map(state.sessions.map((s) => [s.id, s]));
    this.lastActivity = new Map();
    for (const s of state.sessions) this.noteActivity(s);
    this.breakGlass = state.breakGlass;
    this.grants = new Map();
    for (const b of state.breakGlass) {
      if (b.state !== 'active' || b.expiresAt === undefined) continue;
      const list = this.grants.get(b.user) ?? [];
      list.push({ id: b.id, policy: b.policy, user: b.user, cluster: b.cluster, expiresAt: b.expiresAt });
      this.grants.set(b.user, list);
    }
    this.storeGeneration = state.generation;
    this.generation++;
    return policyError;
  }

  setClusters(clusters: readonly ClusterInfo[]): void {
    this.clusters = new Map(clusters.map((c) => [c.name, c]));
    this.generation++;
  }

  /**
   * A session's activity, between full reloads. It can only extend what the session allows,
   * but a decision cached while there was no recent activity ("session required") must not
   * stand, so the generation advances when activity starts a window rather than extends one.
   */
  sessionActivity(session: ConsoleSessionRecord): void {
    const before = this.lastActivity.get(session.user);
    this.sessions.set(session.id, session);
    this.noteActivity(session);
    if (before === undefined || session.endedAt !== undefined) this.generation++;
  }

  private noteActivity(s: ConsoleSessionRecord): void {
    if (s.endedAt !== undefined) {
      // Recompute from the user's other open sessions.
      let latest: number | undefined;
      for (const other of this.sessions.values()) {
        if (other.user === s.user && other.endedAt === undefined) latest = Math.max(latest ?? 0, other.lastActiveAt);
      }
      if (latest === undefined) this.lastActivity.delete(s.user);
      else this.lastActivity.set(s.user, latest);
      return;
    }
    this.lastActivity.set(s.user, Math.max(this.lastActivity.get(s.user) ?? 0, s.lastActiveAt));
  }

  user(name: string): UserRecord | undefined {
    return this.users.get(name);
  }

  serverNameOf(user: string): string {
    let name = this.serverNames.get(user);
    if (name === undefined) {
      name = userServerName(user, this.userServerNameSuffix);
      if (this.serverNames.size >= 100_000) this.serverNames.clear();
      this.serverNames.set(user, name);
    }
    return name;
  }

  allUsers(): UserRecord[] {
    return [...this.users.values()];
  }

  isRevoked(serial: string): boolean {
    return this.revoked.has(serial);
  }

  /**
   * When the last of the user's unexpired, unrevoked certificates expires (epoch ms), as far
   * as certificates were read from the store or issued here; undefined when they hold none.
   */
  certificateNotAfter(user: string, now: number): number | undefined {
    return this.certificates.validUntil(user, now, (serial) => this.revoked.has(serial));
  }

  /** Certificates read from the store (revoked and expired ones are left out). */
  noteCertificates(records: Iterable<CertificateRecord>, now: number): void {
    this.certificates.add(records, now);
  }

  /**
   * A certificate was issued and recorded: the user holds it from now on. Resolves once that
   * is in force at the edge (see EdgeConfirmation), so the certificate works on its first
   * request.
   */
  async certificateIssued(cert: CertificateRecord): Promise<EdgeConfirmation> {
    this.certificates.add([cert], cert.issuedAt);
    return this.hooks.certificateIssued ? this.hooks.certificateIssued(cert) : 'no-edge';
  }

  cluster(name: string): ClusterInfo | undefined {
    return this.clusters.get(name);
  }

  allClusters(): ClusterInfo[] {
    return [...this.clusters.values()];
  }

  policyDocuments(): readonly PolicyDocument[] {
    return this.documents;
  }

  breakGlassRecords(): readonly BreakGlassRecord[] {
    return this.breakGlass;
  }

  /**
   * The idle period (whole seconds, as the agent protocol carries it) after which the agent of
   * the cluster removes a user's ServiceAccount, from the policy set in force: 8 h unless a
   * ClusterSettings covering the cluster (by name or by its labels) sets serviceAccountIdleTimeout.
   */
  serviceAccountIdleTimeoutSeconds(cluster: ClusterInfo): number {
    return Math.ceil(this.engine.serviceAccountIdleTimeoutMs(cluster) / 1000);
  }

  evaluationContext(user: string, now: number): EvaluationContext {
    const last = this.lastActivity.get(user);
    return { now, grants: this.grants.get(user) ?? [], ...(last !== undefined ? { lastConsoleActivity: last } : {}) };
  }
}
