/**
 * A firewalled site's lifecycle with real namespaces: destroy() leaves nothing behind, two sites
 * side by side cannot reach each other, a crashed run's leftovers are cleaned up, and each
 * failure (subnet collision, not root, no CAP_NET_ADMIN, missing tools, bad props, wrong state)
 * is its own error with a stable code.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { FirewalledSite } from '../../dev/netns/firewalled-site';
import { checkFirewalledSiteSupport } from '../../dev/netns/site-support-check';
import { isStaleSiteNetns, parseSiteNetns } from '../../dev/netns/site-netns-name';
import { cleanupStaleSites } from '../../dev/netns/stale-site-cleanup';
import { defaultSearchPath, resolveNetworkTools } from '../../dev/netns/commands';
import { InvalidSiteConfigError, SiteStateError, SubnetCollisionError, ToolMissingError } from '../../dev/netns/errors';
import { isRunning, waitUntil } from '../support/process-table';
import { connectFromHost, connectFromSite, hostCommand, inboundDrops, siteServerConnections, startSiteServer } from './probes';
import { runTsChild, spawnTsChild } from './ts-child';

const SITE_MODULE = 'dev/netns/firewalled-site.ts';

jest.setTimeout(60_000);

let dir: string;
beforeAll(async () => {
  // ip, iptables and their -save tools live in sbin, which a non-login shell's PATH may lack;
  // commands run inside a site find their programs through this PATH too.
  process.env.PATH = defaultSearchPath();
  await checkFirewalledSiteSupport();
  await cleanupStaleSites();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-netns-lifecycle-'));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function namespaces(): Promise<string[]> {
  return (await hostCommand('ip', ['netns', 'list']))
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

async function hostLinks(): Promise<string[]> {
  return (JSON.parse(await hostCommand('ip', ['-j', 'link', 'show'])) as Array<{ ifname: string }>).map((l) => l.ifname);
}

/** Every host rule (IPv4 and IPv6, all tables) that mentions `text`. */
async function hostRulesMentioning(text: string): Promise<string[]> {
  const out: string[] = [];
  for (const save of ['iptables-save', 'ip6tables-save']) out.push(...(await hostCommand(save, [])).split('\n').filter((l) => l.includes(text)));
  return out;
}

async function hostRoutesFor(cidr: string): Promise<string[]> {
  const prefix = cidr.replace('.0/24', '.');
  return (await hostCommand('ip', ['-4', 'route', 'show', 'table', 'all'])).split('\n').filter((l) => l.includes(prefix));
}

test('destroy() removes the processes, rules, veth pair and namespace, and is idempotent', async () => {
  const site = await new FirewalledSite({ name: 'gone', allowOutboundTo: [{ port: 9 }] }).create();
  const { netns } = site;
  const { hostInterface, cidr } = site.subnet;
  expect(await namespaces()).toContain(netns);
  expect(await hostLinks()).toContain(hostInterface);
  expect(await hostRulesMentioning(netns)).toHaveLength(4);
  expect((await hostRoutesFor(cidr)).length).toBeGreaterThan(0);

  // One process under the site's management, one started behind its back.
  const managed = site.spawn({ component: 'sleeper', binary: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], logFile: path.join(dir, 'sleeper.log') });
  const stray = spawn('ip', ['netns', 'exec', netns, 'sleep', '600'], { stdio: 'ignore' });
  expect(await waitUntil(() => (stray.pid !== undefined && isRunning(stray.pid)) && managed.pid !== undefined && isRunning(managed.pid), 5000)).toBe(true);
  expect(await waitUntil(() => fs.existsSync(`/proc/${stray.pid}/ns/net`) && fs.readlinkSync(`/proc/${stray.pid}/ns/net`) !== fs.readlinkSync('/proc/self/ns/net'), 5000)).toBe(true);

  await site.destroy();
  expect(await namespaces()).not.toContain(netns);
  expect(await hostLinks()).not.toContain(hostInterface);
  expect(await hostRulesMentioning(netns)).toEqual([]);
  expect(await hostRulesMentioning(hostInterface)).toEqual([]);
  expect(await hostRoutesFor(cidr)).toEqual([]);
  expect(managed.exit).toBeDefined();
  expect(await waitUntil(() => !isRunning(stray.pid!), 5000)).toBe(true);

  await expect(site.destroy()).resolves.toBeUndefined();
  await expect(new FirewalledSite({ name: 'never-created' }).destroy()).resolves.toBeUndefined();
  await expect(site.exec('true')).rejects.toMatchObject({ code: 'ERR_NETNS_SITE_STATE' });
});

test('two sites side by side cannot reach each other, even when one is allowed to dial the other', async () => {
  const b = await new FirewalledSite({ name: 'side-b' }).create();
  const a = await new FirewalledSite({ name: 'side-a', allowOutboundTo: [{ host: b.siteAddress, port: 8443 }] }).create();
  try {
    expect(a.subnet.cidr).not.toBe(b.subnet.cidr);
    const server = await startSiteServer(b, '0.0.0.0', 8443, dir);
    expect(await connectFromSite(b, b.siteAddress, 8443)).toMatchObject({ outcome: 'connected' });

    // A's own firewall lets the SYN out, but the host forwards nothing between veths: it never
    // even reaches B's firewall.
    const dropsAtB = await inboundDrops(b);
    expect(await connectFromSite(a, b.siteAddress, 8443)).toEqual({ outcome: 'timeout' });
    expect(await inboundDrops(b)).toBe(dropsAtB);
    // Neither has a route or interface for the other's subnet.
    expect((await a.exec('ip', ['-4', '-o', 'addr'])).stdout).not.toContain(b.subnet.cidr.replace('.0/24', '.'));
    expect((await a.exec('ip', ['-4', 'route'])).stdout).not.toContain(b.subnet.cidr);
    // And the host reaches neither: B's firewall drops its SYN.
    expect(await connectFromHost(b.siteAddress, 8443)).toEqual({ outcome: 'timeout' });
    expect(await inboundDrops(b)).toBeGreaterThan(dropsAtB);
    expect(siteServerConnections(server)).toEqual([`connection from ${b.siteAddress}`]);
  } finally {
    await a.destroy();
    await b.destroy();
  }
});

test('a /24 another site holds is refused with SubnetCollisionError, and the failed create leaves nothing', async () => {
  const first = await new FirewalledSite({ name: 'holder' }).create();
  try {
    const clash = new FirewalledSite({ name: 'clash', subnet: first.subnet.cidr });
    const err = await clash.create().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubnetCollisionError);
    expect(err).toMatchObject({ code: 'ERR_NETNS_SUBNET_COLLISION', subnet: first.subnet.cidr });
    expect((err as Error).message).toContain(`dev ${first.subnet.hostInterface}`);
    expect((await namespaces()).filter((n) => n.startsWith(`kubegate-clash-`))).toEqual([]);
    // The holder is untouched.
    expect(await namespaces()).toContain(first.netns);
    expect(await hostLinks()).toContain(first.subnet.hostInterface);
  } finally {
    await first.destroy();
  }
});

test("cleanupStaleSites() removes a killed run's namespace, veth, rules and processes, and nothing of live runs", async () => {
  const live = await new FirewalledSite({ name: 'live' }).create();
  try {
    // Another process builds a site, starts a server in it, reports, and is SIGKILLed: its exit
    // hook never runs, so everything it built is left behind.
    const child = spawnTsChild(
      `
        const { FirewalledSite } = load('dev/netns/firewalled-site.ts');
        (async () => {
          const site = await new FirewalledSite({ name: 'crashed', allowOutboundTo: [{ port: 9 }] }).create();
          const proc = site.spawn({ component: 'orphan', binary: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], logFile: ${JSON.stringify(path.join(dir, 'orphan.log'))} });
          console.log(JSON.stringify({ netns: site.netns, hostInterface: site.subnet.hostInterface, cidr: site.subnet.cidr, orphan: proc.pid }));
          setInterval(() => {}, 1000);
        })().catch((e) => { console.error(e); process.exit(2); });
      `,
      [SITE_MODULE],
    );
    let out = '';
    let errOut = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (errOut += d.toString()));
    const reported = await waitUntil(() => out.includes('\n') || child.exitCode !== null, 30_000);
    expect({ reported, errOut }).toEqual({ reported: true, errOut: '' });
    const left = JSON.parse(out.trim()) as { netns: string; hostInterface: string; cidr: string; orphan: number };
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    expect(parseSiteNetns(left.netns)).toMatchObject({ site: 'crashed', pid: child.pid });
    expect(isStaleSiteNetns(left.netns)).toBe(true);
    expect(isStaleSiteNetns(live.netns)).toBe(false);
    expect(await namespaces()).toContain(left.netns);
    expect(await hostLinks()).toContain(left.hostInterface);
    expect(await hostRulesMentioning(left.netns)).toHaveLength(4);
    expect(isRunning(left.orphan)).toBe(true);

    const removed = await cleanupStaleSites();
    expect(removed).toContain(left.netns);
    expect(removed).not.toContain(live.netns);
    expect(await namespaces()).not.toContain(left.netns);
    expect(await hostLinks()).not.toContain(left.hostInterface);
    expect(await hostRulesMentioning(left.netns)).toEqual([]);
    expect(await hostRoutesFor(left.cidr)).toEqual([]);
    expect(await waitUntil(() => !isRunning(left.orphan), 5000)).toBe(true);

    // The live site still stands and still works.
    expect(await namespaces()).toContain(live.netns);
    expect(await hostRulesMentioning(live.netns)).toHaveLength(4);
    expect((await live.exec('ip', ['-4', '-o', 'addr', 'show', 'dev', live.subnet.siteInterface])).stdout).toContain(`${live.siteAddress}/24`);
    expect(await cleanupStaleSites()).toEqual([]);
  } finally {
    await live.destroy();
  }
});

/** Runs create() in a child process, optionally as another user or with capabilities dropped. */
async function createInChild(prefix: string[]): Promise<{ code?: string; name?: string; message?: string; created?: boolean }> {
  const stdout = await runTsChild(
    `
      const { FirewalledSite } = load('dev/netns/firewalled-site.ts');
      new FirewalledSite({ name: 'restricted' }).create().then(
        async (site) => { await site.destroy(); console.log(JSON.stringify({ created: true })); },
        (e) => console.log(JSON.stringify({ code: e.code, name: e.name, message: e.message })),
      );
    `,
    [SITE_MODULE],
    prefix,
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as { code?: string; name?: string; message?: string };
}

test('a process that is not root gets NotRootError', async () => {
  const result = await createInChild(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
  expect(result).toMatchObject({ code: 'ERR_NETNS_NOT_ROOT', name: 'NotRootError' });
  expect(result.message).toContain('uid 65534');
});

test('root without CAP_NET_ADMIN/CAP_SYS_ADMIN gets NetnsUnsupportedError and leaves nothing', async () => {
  const result = await createInChild(['setpriv', '--inh-caps=-net_admin,-sys_admin', '--bounding-set=-net_admin,-sys_admin']);
  expect(result).toMatchObject({ code: 'ERR_NETNS_UNSUPPORTED', name: 'NetnsUnsupportedError' });
  expect(result.message).toMatch(/Operation not permitted.*lacks CAP_NET_ADMIN/s);
  expect((await namespaces()).filter((n) => n.startsWith('kubegate-restricted-'))).toEqual([]);
});

test('missing tools, bad props and wrong states are each their own error', async () => {
  const empty = fs.mkdtempSync(path.join(dir, 'no-tools-'));
  const missing = (() => {
    try {
      resolveNetworkTools(empty);
    } catch (e) {
      return e;
    }
  })();
  expect(missing).toBeInstanceOf(ToolMissingError);
  expect(missing).toMatchObject({ code: 'ERR_NETNS_TOOL_MISSING', tool: 'ip', debianPackage: 'iproute2' });
  // With the real search path every tool is found.
  expect(resolveNetworkTools()).toMatchObject({ ip: expect.stringMatching(/\/ip$/), iptablesRestore: expect.stringMatching(/\/iptables-restore$/) });

  const invalid: Array<[object, string]> = [
    [{ name: 'Bad_Name' }, 'name'],
    [{ name: 'ends-with-dash-' }, 'name'],
    [{ name: 'x', index: 0 }, 'index'],
    [{ name: 'x', index: 255 }, 'index'],
    [{ name: 'x', index: 3, subnet: '10.213.3.0/24' }, 'index'],
    [{ name: 'x', subnet: '8.8.8.0/24' }, 'subnet'],
    [{ name: 'x', subnet: '10.213.3.7/24' }, 'subnet'],
    [{ name: 'x', subnet: '10.213.0.0/16' }, 'subnet'],
    [{ name: 'x', allowOutboundTo: [{ host: 'edge.local', port: 443 }] }, 'allowOutboundTo'],
    [{ name: 'x', allowOutboundTo: [{ port: 70000 }] }, 'allowOutboundTo'],
  ];
  for (const [props, field] of invalid) {
    let err: unknown;
    try {
      new FirewalledSite(props as never);
    } catch (e) {
      err = e;
    }
    expect({ props, err }).toEqual({ props, err: expect.any(InvalidSiteConfigError) });
    expect(err).toMatchObject({ code: 'ERR_NETNS_INVALID_CONFIG', field });
  }

  const fresh = new FirewalledSite({ name: 'fresh' });
  expect(() => fresh.siteAddress).toThrow(SiteStateError);
  await expect(fresh.exec('true')).rejects.toMatchObject({ code: 'ERR_NETNS_SITE_STATE' });
  expect(() => fresh.spawn({ component: 'x', binary: 'true', args: [], logFile: path.join(dir, 'x.log') })).toThrow(SiteStateError);
  // Known before create() when the index is given.
  expect(new FirewalledSite({ name: 'fixed', index: 42 }).siteAddress).toBe('10.213.42.2');

  const twice = await new FirewalledSite({ name: 'twice' }).create();
  try {
    await expect(twice.create()).rejects.toMatchObject({ code: 'ERR_NETNS_SITE_STATE' });
    await expect(new FirewalledSite({ name: 'twice' }).create()).rejects.toMatchObject({ code: 'ERR_NETNS_SITE_EXISTS' });
    // The failed duplicate did not take the first one down.
    expect(await namespaces()).toContain(twice.netns);
    expect((await twice.exec('true')).code).toBe(0);
  } finally {
    await twice.destroy();
  }
});
