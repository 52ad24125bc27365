/**
 * The exact firewall of a site, as text for iptables-restore (loaded atomically, before the
 * veth pair exists, so there is no moment when the site is up but unfirewalled), and the
 * host-side rules that keep anything from being forwarded beyond the veth.
 */

/** Where a site may open connections to (TCP). */
export interface OutboundDestination {
  /** An IPv4 literal; @default the host end of the site's veth pair */
  readonly host?: string;
  readonly port: number;
}

/** The chain OUTPUT sends new connections to; one ACCEPT per allowed destination. */
export const OUTBOUND_CHAIN = 'KUBEGATE-OUTBOUND';

/** Marks host-side rules as belonging to a site; the namespace name follows. */
export const HOST_RULE_COMMENT_PREFIX = 'kubegate-site:';

function comment(text: string): string {
  return `-m comment --comment "${text}"`;
}

/** `-A KUBEGATE-OUTBOUND ...` arguments for one destination (also used to add one later). */
export function outboundRuleArgs(host: string, port: number): string[] {
  return ['-d', `${host}/32`, '-p', 'tcp', '-m', 'tcp', '--dport', String(port), '-m', 'comment', '--comment', `kubegate: site may dial ${host}:${port}`, '-j', 'ACCEPT'];
}

/**
 * IPv4 filter table inside the site. INPUT: loopback and replies only, every new inbound
 * connection is dropped silently (as a real firewall does, so a dialer sees a timeout). OUTPUT:
 * loopback, replies, and new TCP connections to the allowed destinations; any other TCP dial is
 * rejected at once (EHOSTUNREACH for the dialing process, instead of a long hang), anything
 * else dropped. FORWARD: dropped (the site routes nothing).
 */
export function siteIPv4Rules(destinations: ReadonlyArray<{ host: string; port: number }>): string {
  const lines = [
    '*filter',
    ':INPUT DROP [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT DROP [0:0]',
    `:${OUTBOUND_CHAIN} - [0:0]`,
    `-A INPUT -i lo ${comment('kubegate: loopback')} -j ACCEPT`,
    `-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED ${comment('kubegate: replies to connections the site opened')} -j ACCEPT`,
    `-A INPUT ${comment('kubegate: no inbound connections')} -j DROP`,
    `-A FORWARD ${comment('kubegate: the site routes nothing')} -j DROP`,
    `-A OUTPUT -o lo ${comment('kubegate: loopback')} -j ACCEPT`,
    `-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED ${comment('kubegate: replies and traffic of open connections')} -j ACCEPT`,
    `-A OUTPUT -m conntrack --ctstate NEW -j ${OUTBOUND_CHAIN}`,
    `-A OUTPUT -p tcp ${comment('kubegate: destination not allowed')} -j REJECT --reject-with icmp-admin-prohibited`,
    `-A OUTPUT ${comment('kubegate: destination not allowed')} -j DROP`,
    ...destinations.map((d) => `-A ${OUTBOUND_CHAIN} ${quoteArgs(outboundRuleArgs(d.host, d.port))}`),
    'COMMIT',
  ];
  return lines.join('\n') + '\n';
}

/** IPv6 inside the site: loopback only. The veth ends carry no IPv6 address either. */
export function siteIPv6Rules(): string {
  return [
    '*filter',
    ':INPUT DROP [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT DROP [0:0]',
    `-A INPUT -i lo ${comment('kubegate: loopback')} -j ACCEPT`,
    `-A OUTPUT -o lo ${comment('kubegate: loopback')} -j ACCEPT`,
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * Host FORWARD rules (IPv4 and IPv6 alike): nothing that enters from the site's veth is forwarded
 * anywhere, and nothing is forwarded into it, even if someone turns ip_forward on. The site can
 * only ever reach addresses of the host itself, and then only those its own OUTPUT allows.
 */
export function hostForwardRuleArgs(netns: string, hostInterface: string): string[][] {
  const tag = `${HOST_RULE_COMMENT_PREFIX}${netns}`;
  return [
    ['FORWARD', '-i', hostInterface, '-m', 'comment', '--comment', tag, '-j', 'DROP'],
    ['FORWARD', '-o', hostInterface, '-m', 'comment', '--comment', tag, '-j', 'DROP'],
  ];
}

/**
 * From `iptables -S FORWARD` output, the rules that carry a site tag, as `-D` arguments, with
 * the namespace each belongs to. Matching is by the tag, so a crashed run's rules are found
 * without knowing its interface names.
 */
export function taggedHostRules(listing: string): Array<{ netns: string; deleteArgs: string[] }> {
  const found: Array<{ netns: string; deleteArgs: string[] }> = [];
  for (const line of listing.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const m = new RegExp(`--comment "?${HOST_RULE_COMMENT_PREFIX}([A-Za-z0-9._-]+)"?`).exec(line);
    if (!m) continue;
    found.push({ netns: m[1]!, deleteArgs: ['-D', ...splitRule(line.slice(3))] });
  }
  return found;
}

/** Splits an `iptables -S` line into arguments, honouring double quotes. */
function splitRule(text: string): string[] {
  const args: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) args.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return args;
}

function quoteArgs(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `"${a}"`)).join(' ');
}
