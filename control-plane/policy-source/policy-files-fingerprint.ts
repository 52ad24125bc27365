/**
 * A digest of a policy set's file names and texts. The polling fallback compares it with the
 * last one seen, so that a directory that did not change costs a read and a hash every few
 * seconds, never a database query or a log line.
 */
import { createHash } from 'node:crypto';
import type { PolicyFile } from '../../policies/src';

export function policyFilesFingerprint(files: readonly PolicyFile[]): string {
  const hash = createHash('sha256');
  for (const f of files) {
    // Lengths first, so that no split of names and texts can produce the same byte stream.
    hash.update(`${Buffer.byteLength(f.fileName)}:${f.fileName}${Buffer.byteLength(f.text)}:`);
    hash.update(f.text);
  }
  return hash.digest('hex');
}
