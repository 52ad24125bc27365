/**
 * A real node inside a firewalled site (dev/netns): the site's namespace is the node's, so the
 * node's processes dial out under the site's rules like everything else there, and nothing can
 * connect in. The site's firewall routes nothing, though, and the node's pods are routed: this
 * opens exactly what pods need and no more, inside the site only:
 *   - INPUT from the pod bridge (pods reach their node: the apiserver relay, the kubelet), and
 *     OUTPUT to it (the kubelet's probes, Services and NodePorts reached from the node);
 *   - FORWARD between pods on the bridge, replies of open connections, and new connections
 *     from pods only to the destinations the site itself may dial (its KUBEGATE-OUTBOUND chain),
 *     any other TCP rejected at once, the rest dropped by the site's own rule.
 * What the kubelet, kube-proxy and the CNI plugins add to the site's tables and sysctls is taken
 * back by restoring the state read before the node started, so the site is as it was.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { OUTBOUND_CHAIN } from '../netns/firewall-rules';
import { NodeCommandError } from './errors';
import { inNodeNetwork, nodeEnvironment } from './node-process';

const run = promisify(execFile);
const SITE_SYSCTLS = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.route_localnet', 'net.bridge.bridge-nf-call-iptables'] as const;

async function inside(netnsPath: string, binary: string, args: readonly string[], input?: string): Promise<string> {
  const c = inNodeNetwork(netnsPath, binary, args);
  return new Promise((resolve, reject) => {
    const child = execFile(c.binary, c.args, { env: nodeEnvironment(), maxBuffer: 64 << 20, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new NodeCommandError(`${binary} ${args.join(' ')} (in ${netnsPath})`, typeof err.code === 'number' ? err.code : null, stderr || err.message));
      else resolve(stdout);
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

export interface SiteNetworkState {
  readonly iptables: string;
  readonly ip6tables: string;
  readonly sysctls: Readonly<Record<string, string>>;
}

export async function readSiteNetworkState(netnsPath: string): Promise<SiteNetworkState> {
  const sysctls: Record<string, string> = {};
  for (const name of SITE_SYSCTLS) {
    const value = await inside(netnsPath, 'sysctl', ['-n', name]).catch(() => undefined);
    if (value !== undefined) sysctls[name] = value.trim();
  }
  return { iptables: await inside(netnsPath, 'iptables-save', []), ip6tables: await inside(netnsPath, 'ip6tables-save', []), sysctls };
}

const tag = (text: string) => ['-m', 'comment', '--comment', `kubegate-node: ${text}`];

/** Inserts the rules above the site's own, in this order (see the file comment). */
export async function openSiteForPods(netnsPath: string, bridge: string): Promise<void> {
  const rules: string[][] = [
    ['INPUT', '-i', bridge, ...tag('pods reach their node'), '-j', 'ACCEPT'],
    ['OUTPUT', '-o', bridge, ...tag('the node reaches its pods (probes, NodePorts on loopback)'), '-j', 'ACCEPT'],
    ['FORWARD', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', ...tag('replies and traffic of open connections'), '-j', 'ACCEPT'],
    ['FORWARD', '-i', bridge, '-o', bridge, ...tag('pod to pod on the node'), '-j', 'ACCEPT'],
    ['FORWARD', '-i', bridge, '-m', 'conntrack', '--ctstate', 'NEW', ...tag('pods dial what the site may dial'), '-j', OUTBOUND_CHAIN],
    ['FORWARD', '-i', bridge, '-p', 'tcp', ...tag('destination not allowed'), '-j', 'REJECT', '--reject-with', 'icmp-admin-prohibited'],
  ];
  // Inserted last rule first at position 1, so they end up in the order listed, above the site's DROP.
  for (const [chain, ...spec] of [...rules].reverse()) await inside(netnsPath, 'iptables', ['-w', '-I', chain!, '1', ...spec]);
}

/** Every table as it was (tables that did not exist then are emptied), the sysctls as they were, the bridge gone. */
export async function restoreSiteNetworkState(netnsPath: string, state: SiteNetworkState, bridge: string): Promise<void> {
  for (const [tool, saved] of [['iptables', state.iptables], ['ip6tables', state.ip6tables]] as const) {
    const now = await inside(netnsPath, `${tool}-save`, []);
    const tablesThen = new Set([...saved.matchAll(/^\*(\w+)$/gm)].map((m) => m[1]!));
    const emptied = [...now.matchAll(/^\*(\w+)$/gm)].map((m) => m[1]!).filter((t) => !tablesThen.has(t)).map((t) => `*${t}\nCOMMIT\n`);
    // iptables-restore replaces each table it is given: rules flushed, chains of its own deleted.
    await inside(netnsPath, `${tool}-restore`, ['-w'], withCurrentDestinations(saved, now) + emptied.join(''));
  }
  for (const [name, value] of Object.entries(state.sysctls)) await inside(netnsPath, 'sysctl', ['-q', '-w', `${name}=${value}`]);
  await inside(netnsPath, 'ip', ['link', 'del', 'dev', bridge]).catch(() => undefined);
}

/**
 * The saved rules with the site's allowed destinations as they are now: site.allowOutbound()
 * may have added some while the node ran, and they must survive the node.
 */
function withCurrentDestinations(saved: string, now: string): string {
  const isDestination = (line: string) => line.startsWith(`-A ${OUTBOUND_CHAIN} `);
  const current = now.split('\n').filter(isDestination);
  const out: string[] = [];
  let table = '';
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) table = line;
    if (isDestination(line)) continue;
    if (line === 'COMMIT' && table === '*filter') out.push(...current);
    out.push(line);
  }
  return out.join('\n');
}
