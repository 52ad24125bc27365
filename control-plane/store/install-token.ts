/**
 * Why: the records behind `kubegate cluster add`'s one-line `kubectl apply -f https://...`:
 * a one-time install token names the cluster whose agent manifest its link serves, once and
 * only until it expires. Kept apart from store.ts (which names the operations) so that file
 * stays about the contract as a whole.
 */
import { JOIN_TOKEN_REJECTION_TEXT, type ClusterRecord, type JoinTokenRecord, type JoinTokenRejection } from './store';

/**
 * A one-time secret carried in an install link's URL. Only a hash of the secret is stored, so a
 * copy of the database serves no manifest.
 */
export interface InstallTokenRecord {
  /** Public part of the token, unique: how the token is found and named in logs. */
  readonly id: string;
  /** The registered cluster whose agent manifest the link serves. */
  readonly cluster: string;
  /** Lowercase hex SHA-256 of the secret part. */
  readonly secretHash: string;
  readonly createdAt: number;
  readonly createdBy: string;
  /** The first instant the link no longer works. */
  readonly expiresAt: number;
  /** Set when the manifest was served; a used token never works again. */
  readonly usedAt?: number;
}

/** A new cluster as `kubegate cluster add` registers it, before any agent connected. */
export interface ClusterRegistration {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly now: number;
}

/** The join token a redeemed link's manifest carries: made in the same transaction, for the same cluster. */
export interface RedeemJoinToken {
  readonly id: string;
  readonly secretHash: string;
  readonly expiresAt: number;
}

/** What redeeming a link gives: the used token, its cluster as registered, and the new join token. */
export interface RedeemedInstallToken {
  readonly installToken: InstallTokenRecord;
  readonly cluster: ClusterRecord;
  readonly joinToken: JoinTokenRecord;
}

/** Why an install token was refused: the same reasons, checked in the same order, as a join token's. */
export type InstallTokenRejection = JoinTokenRejection;

/** An install link that cannot be used, and why (the message never includes the secret). */
export class InstallTokenRejectedError extends Error {
  readonly code = 'ERR_INSTALL_TOKEN_REJECTED';
  constructor(
    readonly reason: InstallTokenRejection,
    readonly tokenId: string,
  ) {
    super(`install token "${tokenId}" ${JOIN_TOKEN_REJECTION_TEXT[reason]}`);
    this.name = 'InstallTokenRejectedError';
  }
}
