/**
 * What applying a policy set would change: documents added, removed and changed (by kind and
 * name, compared by what they say, not by how the YAML is laid out), and a line diff of every
 * file that differs. Reviewers read the first; the second is what they would see in Git.
 */
import { checkPolicyFile, crossDocumentErrors, PolicyValidationError, type PolicyDocument, type PolicyError, type PolicyFile } from '../../policies/src';
import type { DocumentChange, FileDiff } from './api-views';
import { unifiedDiff } from './line-diff';

export interface PolicySetCheck {
  /** The documents that are valid on their own. */
  readonly documents: readonly PolicyDocument[];
  /** Every error of every file and across files, sorted by file, line and column. */
  readonly errors: readonly PolicyError[];
}

/** loadPolicies without throwing: every error, and the documents that are valid on their own. */
export function checkPolicySet(files: readonly PolicyFile[]): PolicySetCheck {
  const documents: PolicyDocument[] = [];
  const errors: PolicyError[] = [];
  for (const file of files) {
    const result = checkPolicyFile(file.text, file.fileName);
    documents.push(...result.documents);
    errors.push(...result.errors);
  }
  errors.push(...crossDocumentErrors(documents));
  return { documents, errors: errors.length > 0 ? new PolicyValidationError(errors).errors : [] };
}

const key = (d: PolicyDocument) => `${d.kind}/${d.metadata.name}`;
/** What a document says: everything but where it was read from. */
const content = (d: PolicyDocument) => JSON.stringify({ apiVersion: d.apiVersion, metadata: d.metadata, spec: d.spec });
const byKindAndName = (a: DocumentChange, b: DocumentChange) => (a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind < b.kind ? -1 : 1);

export interface DocumentDiff {
  readonly added: DocumentChange[];
  readonly removed: DocumentChange[];
  readonly changed: DocumentChange[];
  readonly unchanged: number;
}

export function diffDocuments(current: readonly PolicyDocument[], proposed: readonly PolicyDocument[]): DocumentDiff {
  const before = new Map(current.map((d) => [key(d), d]));
  const after = new Map(proposed.map((d) => [key(d), d]));
  const ref = (d: PolicyDocument): DocumentChange => ({ kind: d.kind, name: d.metadata.name });
  const added: DocumentChange[] = [];
  const removed: DocumentChange[] = [];
  const changed: DocumentChange[] = [];
  let unchanged = 0;
  for (const [k, d] of after) {
    const old = before.get(k);
    if (!old) added.push(ref(d));
    else if (content(old) !== content(d)) changed.push(ref(d));
    else unchanged++;
  }
  for (const [k, d] of before) if (!after.has(k)) removed.push(ref(d));
  return { added: added.sort(byKindAndName), removed: removed.sort(byKindAndName), changed: changed.sort(byKindAndName), unchanged };
}

export function diffFiles(current: readonly PolicyFile[], proposed: readonly PolicyFile[]): FileDiff[] {
  const before = new Map(current.map((f) => [f.fileName, f.text]));
  const after = new Map(proposed.map((f) => [f.fileName, f.text]));
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const out: FileDiff[] = [];
  for (const name of names) {
    const a = before.get(name);
    const b = after.get(name);
    if (a === b) continue;
    const status = a === undefined ? 'added' : b === undefined ? 'removed' : 'changed';
    out.push({ fileName: name, status, diff: unifiedDiff(name, a ?? null, b ?? null) });
  }
  return out;
}
