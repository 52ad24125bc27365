/**
 * The JSON shapes the admin API answers with, shared with its clients (the CLI imports these
 * types). Times are ISO 8601 strings in UTC: readable in a terminal and unambiguous in scripts;
 * the store's epoch milliseconds stay internal.
 */
import type { BreakGlassRecord, CertificateRecord, ConsoleSessionRecord, GroupRecord, UserRecord } from '../store/store';
import type { ApiPolicyError } from './api-errors';
import type { ClusterRoleGrant, PolicyDocument } from '../../policies/src';
import { isAdmin } from './admins';
import type { StoredAuditEvent } from '../audit/audit-event';

export const iso = (ms: number): string => new Date(ms).toISOString();
const isoOpt = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : iso(ms));

export interface UserView {
  readonly name: string;
  readonly groups: readonly string[];
  readonly disabled: boolean;
  /** Member of kubegate:admins. */
  readonly admin: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly credentialRevision: number;
}

export function userView(u: UserRecord): UserView {
  return {
    name: u.name,
    groups: u.groups,
    disabled: u.disabled,
    admin: isAdmin(u.groups),
    createdAt: iso(u.createdAt),
    updatedAt: iso(u.updatedAt),
    credentialRevision: u.credentialRevision,
  };
}

export interface CertificateView {
  readonly serial: string;
  readonly issuedAt: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly revokedAt?: string;
  readonly status: 'valid' | 'expired' | 'revoked';
}

export function certificateView(c: CertificateRecord, now: number): CertificateView {
  const status = c.revokedAt !== undefined ? 'revoked' : c.notAfter <= now ? 'expired' : 'valid';
  return {
    serial: c.serial,
    issuedAt: iso(c.issuedAt),
    notBefore: iso(c.notBefore),
    notAfter: iso(c.notAfter),
    ...(c.revokedAt !== undefined ? { revokedAt: iso(c.revokedAt) } : {}),
    status,
  };
}

export interface UserDetailView extends UserView {
  /** Newest first. */
  readonly certificates: readonly CertificateView[];
}

export interface GroupView {
  readonly name: string;
  readonly description: string;
  readonly createdAt: string;
  /** Users whose membership names the group, sorted. */
  readonly members: readonly string[];
}

export function groupView(g: GroupRecord, users: readonly UserRecord[]): GroupView {
  return {
    name: g.name,
    description: g.description,
    createdAt: iso(g.createdAt),
    members: users.filter((u) => u.groups.includes(g.name)).map((u) => u.name).sort(),
  };
}

/** A policy document by kind and name, and where it starts. */
export interface DocumentRef {
  readonly kind: string;
  readonly name: string;
  readonly file: string;
  readonly line: number;
}

export function documentRef(d: PolicyDocument): DocumentRef {
  return { kind: d.kind, name: d.metadata.name, file: d.source.file, line: d.source.line };
}

export interface PolicySetView {
  /** 0 before the first apply. */
  readonly revision: number;
  readonly appliedAt: string | null;
  readonly appliedBy: string | null;
  readonly files: readonly { readonly fileName: string; readonly text: string }[];
  readonly documents: readonly DocumentRef[];
}

export interface PolicyValidationView {
  readonly valid: boolean;
  /** Sorted by file, line and column. */
  readonly errors: readonly ApiPolicyError[];
  /** The documents that are valid on their own. */
  readonly documents: readonly DocumentRef[];
}

export interface DocumentChange {
  readonly kind: string;
  readonly name: string;
}

export interface FileDiff {
  readonly fileName: string;
  readonly status: 'added' | 'removed' | 'changed';
  /** Unified diff of the file's lines (three lines of context). */
  readonly diff: string;
}

export interface PolicyDiffView {
  /** The applied revision the diff is against: send it as expectedRevision to apply. */
  readonly revision: number;
  /** Whether the proposed set loads; when not, document changes cover the valid documents only. */
  readonly valid: boolean;
  readonly errors: readonly ApiPolicyError[];
  readonly documents: {
    readonly added: readonly DocumentChange[];
    readonly removed: readonly DocumentChange[];
    readonly changed: readonly DocumentChange[];
    readonly unchanged: number;
  };
  readonly files: readonly FileDiff[];
}

export interface KubeconfigView {
  /** The kubeconfig as YAML text, ready to write to a file (mode 0600). */
  readonly kubeconfig: string;
  readonly user: string;
  /** Its contexts, one per cluster. */
  readonly clusters: readonly string[];
  readonly notAfter: string;
  readonly serial: string;
  /** Things the user should know, e.g. clusters that need an active console session. */
  readonly notes: readonly string[];
}

export interface BreakGlassView {
  readonly id: string;
  readonly policy: string;
  readonly user: string;
  readonly cluster: string;
  readonly justification: string;
  readonly durationMs: number;
  readonly requestedAt: string;
  readonly state: BreakGlassRecord['state'];
  readonly approvals: readonly { readonly approver: string; readonly at: string }[];
  /** Approvals the policy needs now (pending requests whose requester is still eligible). */
  readonly approvalsRequired?: number;
  readonly activatedAt?: string;
  readonly expiresAt?: string;
  readonly endedBy?: string;
  readonly endReason?: string;
  readonly revision: number;
}

export function breakGlassView(b: BreakGlassRecord, approvalsRequired?: number): BreakGlassView {
  const optional = {
    activatedAt: isoOpt(b.activatedAt),
    expiresAt: isoOpt(b.expiresAt),
    endedBy: b.endedBy,
    endReason: b.endReason,
    approvalsRequired,
  };
  return {
    id: b.id,
    policy: b.policy,
    user: b.user,
    cluster: b.cluster,
    justification: b.justification,
    durationMs: b.durationMs,
    requestedAt: iso(b.requestedAt),
    state: b.state,
    approvals: b.approvals.map((a) => ({ approver: a.approver, at: iso(a.at) })),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    revision: b.revision,
  };
}

export interface SessionView {
  readonly id: string;
  readonly user: string;
  readonly createdAt: string;
  readonly lastActiveAt: string;
  readonly endedAt?: string;
}

export function sessionView(s: ConsoleSessionRecord): SessionView {
  return {
    id: s.id,
    user: s.user,
    createdAt: iso(s.createdAt),
    lastActiveAt: iso(s.lastActiveAt),
    ...(s.endedAt !== undefined ? { endedAt: iso(s.endedAt) } : {}),
  };
}

export interface ClusterView {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** 'tunnel': registered by its agent, reached over reverse tunnels; 'direct': the edge dials it. */
  /** unknown: the store, which knows which clusters have agents, cannot be read right now. */
  readonly connection: 'direct' | 'tunnel' | 'unknown';
  /** For tunnelled clusters: when the cluster was registered (by the hub, or by its agent's join). */
  readonly registeredAt?: string;
  /** For tunnelled clusters: what the agent last reported. */
  readonly agent?: {
    readonly status: 'connected' | 'disconnected' | 'never-connected';
    /** RFC 3339, or absent if the agent never connected. */
    readonly lastSeenAt?: string;
    readonly kubernetesVersion: string;
    readonly agentVersion: string;
  };
  /** How the caller may reach it. */
  readonly access: {
    readonly mode: 'kubectl' | 'console-only' | 'none';
    readonly requiresActiveSession: boolean;
    readonly clusterRoles: readonly ClusterRoleGrant[];
    readonly policies: readonly string[];
  };
}

export interface WhoamiView {
  readonly user: string;
  readonly groups: readonly string[];
  readonly admin: boolean;
  /** The serial of the certificate this request presented. */
  readonly serial: string;
}

export interface RevocationView {
  readonly user: string;
  readonly revokedCertificates: number;
  readonly revokedAt: string;
  readonly credentialRevision: number;
}

/** A one-time install link (`kubegate cluster add`, `cluster install-link`): shown once. */
export interface InstallLinkView {
  readonly cluster: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The token's public part, as the hub's log names it. */
  readonly tokenId: string;
  /** Serves the cluster's agent manifest, once. */
  readonly url: string;
  /** RFC 3339: the first instant the link no longer works. */
  readonly expiresAt: string;
  /** The one line to run with the cluster's kubeconfig (bash or zsh). */
  readonly command: string;
  /** The same with curl fetching, for a kubectl that ignores SSL_CERT_FILE (macOS). */
  readonly curlCommand: string;
  /** The CA the commands verify the hub with; absent when the link's certificate is publicly trusted. */
  readonly caPem?: string;
  /** The images the served manifest names (the hub's configuration). */
  readonly images: { readonly agent: string; readonly envoy: string };
}

export interface JoinTokenView {
  /** Shown once: only its hash is kept. */
  readonly token: string;
  readonly id: string;
  readonly cluster: string;
  /** RFC 3339. */
  readonly expiresAt: string;
}

/** GET /audit: a page of audit events (control-plane/audit/), as the store keeps them. */
export interface AuditPageView {
  readonly events: readonly StoredAuditEvent[];
  /** Pass as `cursor` for the next page (see AuditPage for when it is present). */
  readonly nextCursor?: string;
}

/**
 * GET /audit/incomplete: allowed requests whose completion record is missing (their decision
 * events, newest first), as of `cutoff`.
 */
export interface AuditIncompleteView {
  readonly events: readonly StoredAuditEvent[];
  /** Pass as `cursor` for the next page; present while more remain. */
  readonly nextCursor?: string;
  /** How many in all: on the first page (the request without a cursor) only. */
  readonly total?: number;
  /**
   * RFC 3339: the server's clock less `older-than`. Requests whose decision and progress
   * records are all before it were considered; younger ones may still be running.
   */
  readonly cutoff: string;
}

/** GET /audit/verify: whether the hash chain is intact, and if not, its first problem. */
export interface AuditVerificationView {
  readonly ok: boolean;
  readonly from: number;
  readonly to: number;
  readonly checked: number;
  readonly head: { readonly seq: number; readonly hash: string };
  readonly anchor: { readonly seq: number; readonly hash: string };
  readonly problem?: { readonly kind: 'modified' | 'removed' | 'reordered'; readonly seq: number; readonly toSeq?: number; readonly message: string };
}
