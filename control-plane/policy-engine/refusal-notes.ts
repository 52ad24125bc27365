/**
 * Why each document did not allow a request: collected while a request is decided and turned
 * into words only when it is refused, for the audit reason. Its own file so the decision reads
 * as the evaluation order, not as the wording of every way a document can fall short.
 */
import type { AccessMode } from '../../policies/src';
import { describeDocument, isoTime } from './describe-request';

/** Why a document did not allow a request, for the audit reason of a refusal. */
export type Note =
  | { readonly kind: 'disabled-not-in-force' | 'not-in-force' | 'console-only'; readonly name: string }
  | { readonly kind: 'default-disabled'; readonly name: string; readonly by: string }
  | { readonly kind: 'no-rule'; readonly name: string; readonly mode: AccessMode }
  | { readonly kind: 'session'; readonly name: string; readonly within: string; readonly last: number | undefined }
  | { readonly kind: 'grant-no-rule'; readonly name: string; readonly grant: string };

export function describeNote(note: Note): string {
  const doc = describeDocument('AccessPolicy', note.name);
  switch (note.kind) {
    case 'disabled-not-in-force':
      return `${doc} (disabled) not in force`;
    case 'not-in-force':
      return `${doc} not in force`;
    case 'console-only':
      return `${doc} matches but is console-only`;
    case 'default-disabled':
      return `${doc} grants nothing here (defaultAccessMode disabled by ${describeDocument('ClusterSettings', note.by)})`;
    case 'no-rule':
      return `${doc} (${note.mode}) has no matching rule`;
    case 'session':
      return `${doc} matches but requires a console session active within ${note.within} (last activity: ${note.last === undefined ? 'none' : isoTime(note.last)})`;
    case 'grant-no-rule':
      return `break-glass grant ${JSON.stringify(note.grant)} (${describeDocument('BreakGlassPolicy', note.name)}) has no matching rule`;
  }
}
