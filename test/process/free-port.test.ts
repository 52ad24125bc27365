import * as net from 'node:net';
import { assertPortFree, getFreePort, getFreePorts } from '../../dev/process/free-port';
import { PortInUseError } from '../../dev/process/errors';
import { hostEphemeralRange, parsePortRange, serverPortRange } from '../../dev/process/ephemeral-port-range';

test('getFreePorts returns distinct ports that can be bound on 127.0.0.1', async () => {
  const ports = await getFreePorts(5);
  expect(new Set(ports).size).toBe(5);
  for (const port of ports) {
    expect(port).toBeGreaterThan(0);
    await expect(assertPortFree(port, 'test')).resolves.toBeUndefined();
  }
  expect(await getFreePort()).toBeGreaterThan(0);
});

test('getFreePorts never returns an excluded port', async () => {
  const first = await getFreePorts(3);
  const next = await getFreePorts(20, { exclude: first });
  expect(next.filter((p) => first.includes(p))).toEqual([]);
});

test('assertPortFree raises PortInUseError naming the port and the component', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const err = await assertPortFree(port, 'etcd (client)').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PortInUseError);
    expect(err).toMatchObject({ code: 'ERR_PORT_IN_USE', port, component: 'etcd (client)', host: '127.0.0.1' });
    expect((err as Error).message).toBe(`etcd (client) cannot use port 127.0.0.1:${port}: it is already in use; free it or choose another port`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  // Once released, the same port is free again.
  await expect(assertPortFree(port, 'etcd (client)')).resolves.toBeUndefined();
});

test('ports come from below the kernel\'s ephemeral range, where no outgoing connection takes them', async () => {
  const ephemeral = hostEphemeralRange();
  const range = serverPortRange(ephemeral);
  if (!range) {
    // No room below it on this machine: port 0, as the kernel picks.
    expect((await getFreePorts(3)).every((p) => p > 0)).toBe(true);
    return;
  }
  const ports = await getFreePorts(20);
  expect(ports.every((p) => p >= range.low && p <= range.high)).toBe(true);
  expect(ports.some((p) => p >= ephemeral!.low && p <= ephemeral!.high)).toBe(false);
});

test('the server range is below the ephemeral range, or absent when there is no room', () => {
  expect(serverPortRange({ low: 32768, high: 60999 })).toEqual({ low: 10000, high: 32767 });
  expect(serverPortRange({ low: 11000, high: 60999 })).toBeUndefined();
  expect(serverPortRange(undefined)).toBeUndefined();
  expect(parsePortRange('32768\t60999\n')).toEqual({ low: 32768, high: 60999 });
});

test('a taken port in the range is skipped, never returned', async () => {
  const range = serverPortRange(hostEphemeralRange());
  if (!range) return;
  // Hold the ports one call returned; a second call made while they are bound avoids them all.
  const first = await getFreePorts(10);
  const servers = await Promise.all(first.map((port) => new Promise<net.Server>((resolve) => {
    const s = net.createServer();
    s.listen(port, '127.0.0.1', () => resolve(s));
  })));
  try {
    const second = await getFreePorts(50);
    expect(second.filter((p) => first.includes(p))).toEqual([]);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
});
