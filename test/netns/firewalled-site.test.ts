/**
 * A firewalled site with real namespaces, real iptables and real processes: nothing can
 * connect into it, it can connect out only where it was allowed, and a connection it opened
 * carries traffic both ways for as long as it lives (what a reverse tunnel needs).
 *
 * The suite fails, rather than skips, on a machine that cannot create network namespaces.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { FirewalledSite } from '../../dev/netns/firewalled-site';
import { checkFirewalledSiteSupport } from '../../dev/netns/site-support-check';
import { cleanupStaleSites } from '../../dev/netns/stale-site-cleanup';
import { defaultSearchPath } from '../../dev/netns/commands';
import { parsePortRange, siteEphemeralRange } from '../../dev/netns/ephemeral-ports';
import { getFreePort } from '../../dev/process/free-port';
import { readLogTail } from '../../dev/process/log-tail';
import { CONNECT_TIMEOUT_MS, connectFromHost, connectFromSite, hostCommand, inboundDrops, siteServerConnections, startHostServer, startSiteServer, type HostServer } from './probes';

jest.setTimeout(60_000);

const SITE_PORT = 8443;
let dir: string;
let site: FirewalledSite;
let allowedPort: number;
const hostServers: HostServer[] = [];

beforeAll(async () => {
  // ip, iptables and their -save tools live in sbin, which a non-login shell's PATH may lack;
  // commands run inside a site find their programs through this PATH too.
  process.env.PATH = defaultSearchPath();
  // Not a skip: without CAP_NET_ADMIN (or root, or the tools) this throws a clear error and
  // every test of the file fails with it.
  await checkFirewalledSiteSupport();
  await cleanupStaleSites();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-netns-'));
  allowedPort = await getFreePort();
  site = await new FirewalledSite({ name: 'traffic', allowOutboundTo: [{ port: allowedPort }] }).create();
});

afterAll(async () => {
  await Promise.all(hostServers.map((s) => s.close()));
  await site?.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function hostServer(port = 0): Promise<HostServer> {
  const s = await startHostServer(site.hostAddress, port);
  hostServers.push(s);
  return s;
}

test('the site has exactly the addresses, route and firewall described', async () => {
  expect(site.netns).toMatch(new RegExp(`^kubegate-traffic-${process.pid}-[0-9a-z]+$`));
  expect(site.subnet.cidr).toMatch(/^10\.213\.\d+\.0\/24$/);
  expect(site.hostAddress).toBe(site.subnet.cidr.replace('.0/24', '.1'));
  expect(site.siteAddress).toBe(site.subnet.cidr.replace('.0/24', '.2'));

  const addrs = JSON.parse((await site.exec('ip', ['-j', 'addr', 'show'])).stdout) as Array<{ ifname: string; addr_info: Array<{ family: string; local: string; prefixlen: number }> }>;
  const byIf = Object.fromEntries(addrs.map((a) => [a.ifname, a.addr_info.map((i) => `${i.local}/${i.prefixlen}`)]));
  // lo and the site end only; no IPv6 on the veth (no link-local address to be reached by).
  expect(byIf).toEqual({ lo: ['127.0.0.1/8', '::1/128'], [site.subnet.siteInterface]: [`${site.siteAddress}/24`] });

  const routes = (await site.exec('ip', ['-4', 'route', 'show'])).stdout.trim().split('\n').map((l) => l.trim());
  expect(routes).toEqual([`default via ${site.hostAddress} dev ${site.subnet.siteInterface}`, `${site.subnet.cidr} dev ${site.subnet.siteInterface} proto kernel scope link src ${site.siteAddress}`]);

  const v4 = (await site.exec('iptables', ['-w', '-S'])).stdout.trim().split('\n');
  expect(v4).toEqual([
    '-P INPUT DROP',
    '-P FORWARD DROP',
    '-P OUTPUT DROP',
    '-N KUBEGATE-OUTBOUND',
    '-A INPUT -i lo -m comment --comment "kubegate: loopback" -j ACCEPT',
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "kubegate: replies to connections the site opened" -j ACCEPT',
    '-A INPUT -m comment --comment "kubegate: no inbound connections" -j DROP',
    '-A FORWARD -m comment --comment "kubegate: the site routes nothing" -j DROP',
    '-A OUTPUT -o lo -m comment --comment "kubegate: loopback" -j ACCEPT',
    '-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "kubegate: replies and traffic of open connections" -j ACCEPT',
    '-A OUTPUT -m conntrack --ctstate NEW -j KUBEGATE-OUTBOUND',
    '-A OUTPUT -p tcp -m comment --comment "kubegate: destination not allowed" -j REJECT --reject-with icmp-admin-prohibited',
    '-A OUTPUT -m comment --comment "kubegate: destination not allowed" -j DROP',
    `-A KUBEGATE-OUTBOUND -d ${site.hostAddress}/32 -p tcp -m tcp --dport ${allowedPort} -m comment --comment "kubegate: site may dial ${site.hostAddress}:${allowedPort}" -j ACCEPT`,
  ]);
  const v6 = (await site.exec('ip6tables', ['-w', '-S'])).stdout;
  expect(v6.split('\n').filter((l) => l.startsWith('-A'))).toEqual(['-A INPUT -i lo -m comment --comment "kubegate: loopback" -j ACCEPT', '-A OUTPUT -o lo -m comment --comment "kubegate: loopback" -j ACCEPT']);
  expect(v6).toContain('-P INPUT DROP');

  // On the host: the /24 is routed to the veth and nowhere else, and the veth forwards nothing.
  const hostRoutes = (await hostCommand('ip', ['-4', 'route', 'show', 'table', 'main'])).split('\n').map((l) => l.trim());
  expect(hostRoutes.filter((l) => l.includes(site.subnet.cidr.replace('.0/24', '.')))).toEqual([`${site.subnet.cidr} dev ${site.subnet.hostInterface} proto kernel scope link src ${site.hostAddress}`]);
  // The whole host ruleset (every table, IPv4 and IPv6) mentions the site only in its FORWARD
  // drops: no NAT, no accept, nothing that would carry its traffic beyond the veth.
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const mentions = (await hostCommand(save, [])).split('\n').filter((l) => l.includes(site.subnet.hostInterface) || l.includes(site.subnet.cidr.replace('.0/24', '.')));
    expect(mentions.sort()).toEqual([
      `-A FORWARD -i ${site.subnet.hostInterface} -m comment --comment "kubegate-site:${site.netns}" -j DROP`,
      `-A FORWARD -o ${site.subnet.hostInterface} -m comment --comment "kubegate-site:${site.netns}" -j DROP`,
    ]);
  }
});

test('the site\'s outgoing connections take local ports outside the host\'s ephemeral range', async () => {
  const host = parsePortRange(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));
  const inside = parsePortRange((await site.exec('cat', ['/proc/sys/net/ipv4/ip_local_port_range'])).stdout);
  expect(inside).toEqual(siteEphemeralRange(host));
  expect(inside.low > host.high || inside.high < host.low).toBe(true);
});

test('the host cannot open a connection to a server listening inside the site', async () => {
  const server = await startSiteServer(site, site.siteAddress, SITE_PORT, dir);
  // The server is really there: a client inside the site reaches it on the same address.
  expect(await connectFromSite(site, site.siteAddress, SITE_PORT)).toEqual({ outcome: 'connected', received: 'hello from inside the site' });
  expect(siteServerConnections(server)).toEqual([`connection from ${site.siteAddress}`]);

  const dropsBefore = await inboundDrops(site);
  // Silence, not a refusal: the SYN is dropped (a closed port would answer with a reset), so
  // nothing comes back within the client's timeout.
  expect(await connectFromHost(site.siteAddress, SITE_PORT, CONNECT_TIMEOUT_MS)).toEqual({ outcome: 'timeout' });
  // It was the site's firewall that dropped it, and the server never saw it.
  expect(await inboundDrops(site)).toBeGreaterThan(dropsBefore);
  expect(siteServerConnections(server)).toHaveLength(1);
  await server.stop();
});

test('a client inside the site connects to an allowed host address and port and exchanges data', async () => {
  const server = await hostServer(allowedPort);
  const result = await connectFromSite(site, site.hostAddress, allowedPort, 'hello-from-site');
  expect(result).toEqual({ outcome: 'connected', received: 'echo:hello-from-site' });
  expect(server.peers).toEqual([site.siteAddress]);
});

test('a host port that is not allowed is unreachable from inside, even with a server listening on it', async () => {
  const server = await hostServer();
  // The server is there and answers the host itself.
  const fromHost = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ host: site.hostAddress, port: server.port }, () => {
      s.end('ping\n');
    });
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => resolve(got.trim()));
    s.on('error', reject);
  });
  expect(fromHost).toBe('echo:ping');
  const peersBefore = server.peers.length;

  // From inside: rejected by the site's own firewall (administratively prohibited), so the
  // dialer gets EHOSTUNREACH instead of waiting out its timeout.
  expect(await connectFromSite(site, site.hostAddress, server.port)).toEqual({ outcome: 'error', code: 'EHOSTUNREACH' });
  expect(server.peers).toHaveLength(peersBefore);

  // Allowing it later opens exactly that destination.
  await site.allowOutbound({ port: server.port });
  expect(await connectFromSite(site, site.hostAddress, server.port, 'now-allowed')).toEqual({ outcome: 'connected', received: 'echo:now-allowed' });
  expect(server.peers.slice(peersBefore)).toEqual([site.siteAddress]);
  expect(site.allowedDestinations).toEqual([
    { host: site.hostAddress, port: allowedPort },
    { host: site.hostAddress, port: server.port },
  ]);
});

/**
 * An agent inside the site dials out once and then serves requests the host sends down that
 * connection, the shape of a reverse tunnel: the host writes first on a connection it did not
 * open, after idle periods, and bulk data flows both ways.
 */
const AGENT = `
const [host, port] = process.argv.slice(1);
const socket = require('node:net').connect({ host, port: Number(port) }, () => {
  console.log('agent connected');
  socket.write('agent-hello\\n');
});
let buffered = '';
socket.on('data', (d) => {
  buffered += d;
  for (let i = buffered.indexOf('\\n'); i >= 0; i = buffered.indexOf('\\n')) {
    const line = buffered.slice(0, i);
    buffered = buffered.slice(i + 1);
    if (line.startsWith('req-')) socket.write('res-' + line.slice(4) + '\\n');
    else if (line.startsWith('send ')) socket.write('y'.repeat(Number(line.slice(5))) + '\\n');
    else socket.write('got ' + line.length + '\\n');
  }
});
socket.on('end', () => { console.log('agent: closed by host'); process.exit(0); });
socket.on('error', (e) => { console.log('agent error ' + e.code); process.exit(1); });
`;

test('a connection the site opened stays usable in both directions for its lifetime', async () => {
  const tunnelPort = await getFreePort();
  await site.allowOutbound({ port: tunnelPort });
  const lines: string[] = [];
  let pending: { want: (l: string) => boolean; resolve: (l: string) => void } | undefined;
  let buffered = '';
  let tunnel: net.Socket | undefined;
  const accepted = new Promise<net.Socket>((resolve) => {
    const server = net.createServer((socket) => {
      tunnel = socket;
      socket.on('data', (d: Buffer) => {
        buffered += d.toString();
        for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
          const line = buffered.slice(0, i);
          buffered = buffered.slice(i + 1);
          lines.push(line);
          if (pending?.want(line)) pending.resolve(line);
        }
      });
      resolve(socket);
    });
    server.listen({ host: site.hostAddress, port: tunnelPort });
    hostServers.push({ port: tunnelPort, peers: [], server, close: () => new Promise((done) => server.close(() => done())) });
  });
  const nextLine = (want: (l: string) => boolean) =>
    new Promise<string>((resolve) => {
      const seen = lines.find(want);
      if (seen) return resolve(seen);
      pending = { want, resolve };
    });

  const logFile = path.join(dir, 'agent.log');
  const agent = site.spawn({ component: 'agent', binary: process.execPath, args: ['-e', AGENT, site.hostAddress, String(tunnelPort)], logFile });
  const socket = await accepted;
  expect(socket.remoteAddress).toBe(site.siteAddress);
  expect(await nextLine((l) => l === 'agent-hello')).toBe('agent-hello');

  // Requests from the host down the site's connection, with idle gaps in between.
  for (let n = 1; n <= 5; n++) {
    await new Promise((resolve) => setTimeout(resolve, n === 1 ? 1500 : 200));
    socket.write(`req-${n}\n`);
    expect(await nextLine((l) => l === `res-${n}`)).toBe(`res-${n}`);
  }
  // Bulk both ways: 1 MiB from the host, 1 MiB back from the site.
  const mib = 1024 * 1024;
  socket.write('x'.repeat(mib) + '\n');
  expect(await nextLine((l) => l.startsWith('got '))).toBe(`got ${mib}`);
  socket.write(`send ${mib}\n`);
  const bulk = await nextLine((l) => l.startsWith('yyy'));
  expect(bulk).toBe('y'.repeat(mib));

  // The host ends it; the agent sees the close and exits cleanly.
  tunnel!.end();
  expect(await agent.exited).toEqual({ exitCode: 0, signal: null });
  expect(readLogTail(logFile)).toContain('agent: closed by host');
});
