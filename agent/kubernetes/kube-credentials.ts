/**
 * How the agent proves who it is to kube-apiserver.
 *
 * In a pod the agent's identity is a projected ServiceAccount token that the kubelet replaces
 * well before it expires (by swapping a symlink, so the file's inode changes). Reading it once
 * at start-up would make the agent fail an hour later; reading it on every request would cost
 * a file read per call. The token file is therefore stat()ed per request and only re-read when
 * its identity (device, inode, size, mtime) changes.
 */
import * as fs from 'node:fs';
import { KubeCredentialsError } from './kube-errors';

export type KubeCredentials =
  | { readonly kind: 'token'; readonly token: string }
  /** Re-read when the file changes, because projected tokens rotate. */
  | { readonly kind: 'token-file'; readonly path: string }
  | { readonly kind: 'client-certificate'; readonly certPem: string; readonly keyPem: string };

/** Reads a bearer token from a file, again only when the file has changed since the last read. */
export class TokenFileReader {
  private cached: { readonly fingerprint: string; readonly token: string } | undefined;

  constructor(readonly path: string) {}

  async token(): Promise<string> {
    let fingerprint: string;
    try {
      const st = await fs.promises.stat(this.path);
      fingerprint = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      throw new KubeCredentialsError(`cannot read the token file ${this.path}: ${(err as Error).message}`);
    }
    if (this.cached?.fingerprint === fingerprint) return this.cached.token;
    let text: string;
    try {
      text = await fs.promises.readFile(this.path, 'utf8');
    } catch (err) {
      throw new KubeCredentialsError(`cannot read the token file ${this.path}: ${(err as Error).message}`);
    }
    const token = text.trim();
    if (token === '') throw new KubeCredentialsError(`the token file ${this.path} is empty`);
    // Header injection guard: a token is sent as an HTTP header value.
    if (/[\r\n]/.test(token)) throw new KubeCredentialsError(`the token file ${this.path} holds more than one line`);
    this.cached = { fingerprint, token };
    return token;
  }

  /** Forget the cached token, e.g. after a 401, so the next request reads the file again. */
  invalidate(): void {
    this.cached = undefined;
  }
}
