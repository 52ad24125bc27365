/**
 * Why: the one line a cluster's admin runs. `kubectl apply -f https://...` fetches with Go's
 * TLS and the system's roots, and the hub's serving CA is private by default, so the line hands
 * kubectl that CA through SSL_CERT_FILE (which Go reads on Linux and the BSDs) from a bash or
 * zsh process substitution: nothing is written to disk and verification is never turned off.
 * The PEM is folded into one printf format with \n escapes, so the command stays one line
 * (base64 and the PEM armour hold no `%`, `\` or `'`). When the operator says the certificate
 * at the link is publicly trusted, the line is the plain `kubectl apply -f URL`.
 *
 * Go on macOS ignores SSL_CERT_FILE (it asks the system's verifier), so there the line fails
 * closed with "certificate signed by unknown authority"; curlCommand is the form for it.
 */

/** The CA as one printf format that prints it back, PEM lines and final newline included. */
function printfOf(caPem: string): string {
  const lines = caPem.trim().split(/\r?\n/);
  return `printf -- '${lines.join('\\n')}\\n'`;
}

/** Single-quoted for a POSIX shell (an IPv6 host's brackets would otherwise glob). */
const quoted = (url: string) => `'${url.replace(/'/g, `'\\''`)}'`;

/** The one-liner: kubectl verifies the hub against `caPem`, or the system's roots without it. */
export function kubectlInstallCommand(url: string, caPem: string | undefined): string {
  if (!caPem) return `kubectl apply -f ${quoted(url)}`;
  return `SSL_CERT_FILE=<(${printfOf(caPem)}) kubectl apply -f ${quoted(url)}`;
}

/** The same with curl doing the fetch: for kubectl builds that ignore SSL_CERT_FILE (macOS). */
export function curlInstallCommand(url: string, caPem: string | undefined): string {
  const trust = caPem ? ` --cacert <(${printfOf(caPem)})` : '';
  return `curl -fsS${trust} ${quoted(url)} | kubectl apply -f -`;
}
