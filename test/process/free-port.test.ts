import * as net from 'node:net';
import { assertPortFree, getFreePort, getFreePorts } from '../../control-plane/process/free-port';
import { PortInUseError } from '../../control-plane/process/errors';

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
