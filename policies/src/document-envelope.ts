/**
 * What every policy document has, whatever its kind: the API version, the kind, metadata, a
 * spec and where it was read from. Apart from the union of the kinds (policy-document.ts), so
 * that each kind's file can describe itself without importing the others.
 */
import type { PolicyMetadata } from './metadata';

export const POLICY_API_VERSION = 'kubegate.dev/v1alpha1';
export const POLICY_KINDS = ['AccessPolicy', 'ClusterSettings', 'BreakGlassPolicy'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

/** Where a document starts in its file (1-based), for messages and audit records. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface PolicyDocumentOf<K extends PolicyKind, S> {
  readonly apiVersion: typeof POLICY_API_VERSION;
  readonly kind: K;
  readonly metadata: PolicyMetadata;
  readonly spec: S;
  /** Not part of the YAML: where the document was read from. */
  readonly source: SourceLocation;
}
