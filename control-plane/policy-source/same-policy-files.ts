/**
 * Whether two policy sets hold the same files with the same texts, whatever their order. The
 * watcher applies only when this is false, so that an unchanged directory (a `touch`, a
 * checkout of the same commit, a restart) never creates a new revision: each revision in the
 * store's history is then a real change someone can review.
 */
import type { PolicyFile } from '../../policies/src';

export function samePolicyFiles(a: readonly PolicyFile[], b: readonly PolicyFile[]): boolean {
  if (a.length !== b.length) return false;
  const texts = new Map(a.map((f) => [f.fileName, f.text]));
  if (texts.size !== a.length) return false;
  return b.every((f) => texts.get(f.fileName) === f.text);
}
