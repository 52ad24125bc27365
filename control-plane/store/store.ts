/**
 * The control plane's data layer: users and their group membership, groups, issued user
 * certificates, the applied policy set, break-glass requests and console sessions.
 *
 * One implementation (sql-store.ts) stands behind this contract, over two databases: SQLite
 * for a single control plane (the embedded default) and PostgreSQL for several replicas
 * (sqlite-store.ts, postgres-store.ts open them). Every mutation runs in one
 * transaction and advances a store-wide generation; `watch` tells the caller (and, through
 * PostgreSQL LISTEN/NOTIFY, every other replica) that something changed, and the control plane
 * reloads its in-memory view with `loadState`. The hot path (ext_authz) reads that view only,
 * never the database.
 *
 * Times are epoch milliseconds, passed in by the caller: the store has no clock of its own,
 * so tests decide what "now" is.
 */
import type { ClusterRegistration, InstallTokenRecord, RedeemedInstallToken, RedeemJoinToken } from './install-token';

export interface UserRecord {
  /** As the user's certificate names it (URI SAN kubegate://user/<name>). */
  readonly name: string;
  /** Group membership kept by kubegate, sorted, without duplicates. */
  readonly groups: readonly string[];
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * Advances on every revocation. The edge's per-user listener carries it, so a revocation
   * changes the user's filter chain and Envoy drains exactly that user's connections.
   */
  readonly credentialRevision: number;
}

export interface GroupRecord {
  readonly name: string;
  /** @default '' */
  readonly description: string;
  readonly createdAt: number;
}

export interface CertificateRecord {
  /** Hex serial number, lowercase, no separators: unique per certificate. */
  readonly serial: string;
  readonly user: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly issuedAt: number;
  /** Set once revoked; a revoked certificate is refused even before it expires. */
  readonly revokedAt?: number;
}

export interface PolicyFileRecord {
  readonly fileName: string;
  readonly text: string;
}

export interface PolicySetRecord {
  /** Advances with every apply; 0 before the first. */
  readonly revision: number;
  readonly files: readonly PolicyFileRecord[];
  readonly appliedAt: number;
  readonly appliedBy: string;
}

export type BreakGlassState = 'pending' | 'active' | 'expired' | 'rejected' | 'cancelled';

export interface BreakGlassApproval {
  readonly approver: string;
  readonly at: number;
}

export interface BreakGlassRecord {
  /** Opaque, unique, chosen by the caller (the store has no randomness either). */
  readonly id: string;
  readonly policy: string;
  readonly user: string;
  readonly cluster: string;
  readonly justification: string;
  /** How long the grant lasts once active. */
  readonly durationMs: number;
  readonly requestedAt: number;
  readonly approvals: readonly BreakGlassApproval[];
  readonly state: BreakGlassState;
  readonly activatedAt?: number;
  /** activatedAt + durationMs, once active. */
  readonly expiresAt?: number;
  /** Who ended it early (rejected or cancelled), and why. */
  readonly endedBy?: string;
  readonly endReason?: string;
  /** Optimistic concurrency: advances with every update of this record. */
  readonly revision: number;
}

export interface ConsoleSessionRecord {
  readonly id: string;
  readonly user: string;
  readonly createdAt: number;
  readonly lastActiveAt: number;
  /** Set when the session was ended (logout, revocation). */
  readonly endedAt?: number;
}

/**
 * A one-time secret an agent presents once to join kubegate for one cluster. Only a hash of
 * the secret is stored, so a copy of the database does not let anyone join.
 */
export interface JoinTokenRecord {
  /** Public part of the token, unique: how the token is found and named in logs. */
  readonly id: string;
  /** The cluster name the agent that uses this token may register as, and only that one. */
  readonly cluster: string;
  /** Lowercase hex SHA-256 of the secret part. */
  readonly secretHash: string;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly expiresAt: number;
  /** Set when an agent used it; a used token never works again. */
  readonly usedAt?: number;
}

/**
 * A registered cluster: registered by the hub (putCluster, registerCluster) or by its agent's
 * join, and updated by each hello of its agent (recordAgentHello), which re-sends all of it;
 * `lastSeenAt` is what "disconnected" is judged by. The labels are the agent's until the hub
 * sets them; from then on they are the hub's. Removing the record deregisters the cluster: its
 * agent's certificate no longer admits it (agent-gateway/agent-registration.ts).
 */
export interface ClusterRecord {
  /** DNS-label name; the users' URL path carries it as /clusters/<name>/. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** As the cluster's /version reports it, e.g. v1.34.4. '' before the agent first connected. */
  readonly kubernetesVersion: string;
  /** The CA that signed the apiserver's serving certificate. '' before the first connection. */
  readonly apiserverCaPem: string;
  /** Where the cluster's in-cluster Envoy reaches its apiserver, as the agent reported it. '' and 0 before the first connection. */
  readonly apiserverHost: string;
  readonly apiserverPort: number;
  /** Version string of the agent, for fleet views. */
  readonly agentVersion: string;
  /** Serial of the certificate the agent last connected with (hex, lowercase). */
  readonly agentCertificateSerial: string;
  readonly registeredAt: number;
  /** Last message (hello or heartbeat) from the agent; 0 if it never connected. */
  readonly lastSeenAt: number;
}

/** Everything the control plane keeps in memory, loaded at once and reloaded on change. */
export interface StoreState {
  readonly generation: number;
  readonly users: readonly UserRecord[];
  readonly groups: readonly GroupRecord[];
  /** Serials of revoked certificates that have not yet expired at `now`. */
  readonly revokedSerials: readonly string[];
  /**
   * Certificates not revoked that have not yet expired at `now`, by user then serial: who holds
   * a credential the edge must keep a filter chain for, wherever it was issued (any replica).
   */
  readonly liveCertificates: readonly CertificateRecord[];
  readonly policySet: PolicySetRecord;
  /** Break-glass requests that are pending, or active and not yet expired at `now`. */
  readonly breakGlass: readonly BreakGlassRecord[];
  /** Sessions not ended whose last activity is at most 24 h before `now`. */
  readonly sessions: readonly ConsoleSessionRecord[];
  /** Every registered cluster, sorted by name. */
  readonly clusters: readonly ClusterRecord[];
  /** The edge's drain revisions (Store.recordDrains). */
  readonly edgeDrains: EdgeDrains;
}

/**
 * How often each filter chain at the edge was drained: by user (absent: never), and the shared
 * users' chain. They are part of the Envoy configuration's input, so they live in the store.
 */
export interface EdgeDrains {
  readonly users: Readonly<Record<string, number>>;
  readonly sharedChain: number;
  /**
   * How many users were ever deleted: a deleted user leaves nothing behind to digest, so the
   * edge's user fallback chains (which may hold a connection of theirs) drain on this instead.
   */
  readonly userDeletions: number;
}

export interface StoreChange {
  readonly generation: number;
  /**
   * Set when the change is only a session's activity (touchSession): the generation did not
   * advance, and the listener updates that one session instead of reloading everything.
   */
  readonly sessionActivity?: ConsoleSessionRecord;
  /** Set when the change is only a cluster's heartbeat (touchCluster); like sessionActivity. */
  readonly clusterSeen?: { readonly name: string; readonly lastSeenAt: number };
}

export interface Store {
  /** 'sqlite' or 'postgres', for status pages and logs. */
  readonly kind: string;

  loadState(now: number): Promise<StoreState>;
  generation(): Promise<number>;
  /**
   * Calls `listener` after every committed change, by this process or (PostgreSQL) any other
   * replica. Returns a function that stops listening.
   */
  watch(listener: (change: StoreChange) => void): () => void;

  // Users and groups.
  createUser(user: { name: string; groups: readonly string[]; now: number }): Promise<UserRecord>;
  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  /** Replaces the user's group list. Groups need not exist as GroupRecords (IdP groups). */
  setUserGroups(name: string, groups: readonly string[], now: number): Promise<UserRecord>;
  setUserDisabled(name: string, disabled: boolean, now: number): Promise<UserRecord>;
  /** Removes the user, their certificates and sessions. */
  deleteUser(name: string): Promise<void>;
  createGroup(group: { name: string; description?: string; now: number }): Promise<GroupRecord>;
  listGroups(): Promise<GroupRecord[]>;
  /** Removes the group record and the group from every user's membership. */
  deleteGroup(name: string, now: number): Promise<void>;

  /**
   * Drains filter chains at the edge: each named user's (unknown names are skipped) and, when
   * `sharedChain` is set, the shared users' chain. Called by the replica whose open streams
   * must close; a store change like any other, so every replica publishes the same drain.
   */
  recordDrains(drains: { readonly users: readonly string[]; readonly sharedChain: boolean }): Promise<void>;

  // Certificates and revocation.
  recordCertificate(cert: CertificateRecord): Promise<void>;
  listCertificates(user: string): Promise<CertificateRecord[]>;
  /**
   * Revokes every certificate of the user not yet revoked, ends their console sessions,
   * cancels their active break-glass grants and advances credentialRevision, in one
   * transaction. Returns the user and how many certificates were revoked.
   */
  revokeUser(name: string, now: number, by: string): Promise<{ user: UserRecord; revokedCertificates: number }>;

  // Policies.
  getPolicySet(): Promise<PolicySetRecord>;
  /**
   * Replaces the whole policy set if its revision is still `expectedRevision` (else
   * StoreConflictError: someone applied in between). The caller validated the files.
   */
  applyPolicySet(set: { files: readonly PolicyFileRecord[]; appliedAt: number; appliedBy: string; expectedRevision: number }): Promise<PolicySetRecord>;

  // Break-glass.
  createBreakGlass(record: Omit<BreakGlassRecord, 'revision'>): Promise<BreakGlassRecord>;
  getBreakGlass(id: string): Promise<BreakGlassRecord | undefined>;
  /** Newest first; with `user`, only that user's. */
  listBreakGlass(filter?: { user?: string; states?: readonly BreakGlassState[] }): Promise<BreakGlassRecord[]>;
  /**
   * Replaces the record if its revision is still `next.revision` (else StoreConflictError);
   * the stored revision advances by one.
   */
  updateBreakGlass(next: BreakGlassRecord): Promise<BreakGlassRecord>;

  // Console sessions.
  createSession(session: { id: string; user: string; now: number }): Promise<ConsoleSessionRecord>;
  /**
   * Marks activity. Does not advance the generation (activity is frequent, and reloading all
   * state for it would be waste); watchers get a StoreChange with `sessionActivity` instead.
   */
  touchSession(id: string, now: number): Promise<ConsoleSessionRecord>;
  getSession(id: string): Promise<ConsoleSessionRecord | undefined>;
  endSession(id: string, now: number): Promise<ConsoleSessionRecord>;

  // Agents: join tokens and the clusters they register.
  /** Stores a new join token (StoreConflictError if the id exists). */
  createJoinToken(token: Omit<JoinTokenRecord, 'usedAt'>): Promise<JoinTokenRecord>;
  /**
   * Atomically marks the token used and returns it, if it exists, the secret hash matches, it
   * has not expired at `now` and was never used; otherwise JoinTokenRejectedError with the
   * reason. Two agents racing with one token: exactly one wins.
   */
  consumeJoinToken(id: string, secretHash: string, now: number): Promise<JoinTokenRecord>;
  /** Tokens, newest first; with `cluster`, only that cluster's. */
  listJoinTokens(filter?: { cluster?: string }): Promise<JoinTokenRecord[]>;
  /** Creates or replaces the cluster record (registeredAt is kept from the first time). */
  upsertCluster(record: ClusterRecord): Promise<ClusterRecord>;
  getCluster(name: string): Promise<ClusterRecord | undefined>;
  /** Sorted by name. */
  listClusters(): Promise<ClusterRecord[]>;
  /**
   * Heartbeat: sets lastSeenAt only. Like touchSession it does not advance the generation
   * (heartbeats are frequent); StoreNotFoundError if the cluster is unknown.
   */
  touchCluster(name: string, lastSeenAt: number): Promise<void>;
  /** Removes the cluster, its join tokens and its install tokens; StoreNotFoundError if it does not exist. */
  deleteCluster(name: string): Promise<void>;
  /**
   * Registers a cluster for an agent to join (never connected, no install link), or sets the
   * labels of a registered one, keeping its registeredAt and what its agent reported; `created`
   * says which. Either way the labels are the hub's from then on: hellos no longer replace them.
   */
  putCluster(cluster: ClusterRegistration): Promise<{ cluster: ClusterRecord; created: boolean }>;
  /**
   * What a registered cluster's agent said in its hello: every field of `record` but
   * registeredAt (kept) and labels (kept if the hub set them). Only a registration made at or
   * before `registeredBy` (when the agent's certificate was issued) takes it; without one,
   * StoreNotFoundError and nothing changes, so a hello never brings a deregistered cluster back.
   */
  recordAgentHello(record: ClusterRecord, registeredBy: number): Promise<ClusterRecord>;

  // Install links (`kubegate cluster add`): install-token.ts.
  /**
   * Registers a cluster no agent has connected for yet, with its first install token, in one
   * transaction (StoreConflictError if the cluster or the token id exists). Its labels are the
   * hub's, as putCluster's are.
   */
  registerCluster(cluster: ClusterRegistration, token: Omit<InstallTokenRecord, 'usedAt'>): Promise<{ cluster: ClusterRecord; token: InstallTokenRecord }>;
  /** Another install token for a registered cluster (StoreNotFoundError if it is not). */
  createInstallToken(token: Omit<InstallTokenRecord, 'usedAt'>): Promise<InstallTokenRecord>;
  /**
   * Atomically marks the install token used and stores `joinToken` for its cluster, if the token
   * exists, the hash matches, it was never used and has not expired at `now`; otherwise
   * InstallTokenRejectedError with the reason. Two requests racing with one link: exactly one wins.
   */
  redeemInstallToken(id: string, secretHash: string, now: number, joinToken: RedeemJoinToken): Promise<RedeemedInstallToken>;
  /** Tokens, newest first; with `cluster`, only that cluster's. */
  listInstallTokens(filter?: { cluster?: string }): Promise<InstallTokenRecord[]>;

  close(): Promise<void>;
}

/** Why a join token was refused; the agent's operator sees `reason`. */
export type JoinTokenRejection = 'unknown' | 'wrong-secret' | 'expired' | 'used';

/** A join token that cannot be used, and why (the message never includes the secret). */
export class JoinTokenRejectedError extends Error {
  readonly code = 'ERR_JOIN_TOKEN_REJECTED';
  constructor(
    readonly reason: JoinTokenRejection,
    readonly tokenId: string,
  ) {
    super(`join token "${tokenId}" ${JOIN_TOKEN_REJECTION_TEXT[reason]}`);
    this.name = 'JoinTokenRejectedError';
  }
}

/** What each refusal says of a one-time token (join tokens, install links). */
export const JOIN_TOKEN_REJECTION_TEXT: Record<JoinTokenRejection, string> = {
  unknown: 'does not exist',
  'wrong-secret': 'does not match its secret',
  expired: 'has expired',
  used: 'was already used',
};

/** Base of the store's errors: a stable code, a message safe to show, detail for logs. */
export class StoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The named record does not exist. */
export class StoreNotFoundError extends StoreError {
  constructor(kind: string, name: string) {
    super('ERR_STORE_NOT_FOUND', `${kind} "${name}" does not exist`);
  }
}

/** A record with that name exists already, or a concurrent update won. */
export class StoreConflictError extends StoreError {
  constructor(message: string) {
    super('ERR_STORE_CONFLICT', message);
  }
}

/** The database could not be opened or reached; the detail says why. */
export class StoreUnavailableError extends StoreError {
  constructor(message: string, detail?: string) {
    super('ERR_STORE_UNAVAILABLE', message, detail);
  }
}
