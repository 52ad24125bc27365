/** Which registered cluster a request path names: /clusters/<name>[/...]. */
export function clusterFromPath(path: string): string | null {
  const m = /^\/clusters\/([^/?#]+)(?:[/?#]|$)/.exec(path);
  return m ? m[1]! : null;
}
