/**
 * runKubectl's own failure paths, with the real kubectl. (Successful runs against a cluster are
 * covered in local-cluster.test.ts.)
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { runKubectl } from '../../dev/local-cluster/kubectl-runner';
import { BinaryMissingError } from '../../dev/local-cluster/errors';
import { loadToolchain } from '../../dev/toolchain/tools';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-kubectl-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a missing kubectl is a BinaryMissingError', async () => {
  const bogus = path.join(dir, 'no-such-kubectl');
  const err = await runKubectl(bogus, path.join(dir, 'kubeconfig'), ['version']).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BinaryMissingError);
  expect(err).toMatchObject({ component: 'kubectl', path: bogus });
});

test('a failing kubectl is a result with its exit code and stderr, not an exception', async () => {
  const result = await runKubectl(loadToolchain().kubectl, path.join(dir, 'missing-kubeconfig'), ['get', 'pods']);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('missing-kubeconfig');
});

test('a kubectl that outlives timeoutMs is killed and reports code null', async () => {
  // A server that accepts connections and never answers: kubectl would wait for its TLS
  // handshake for many seconds.
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeconfig = path.join(dir, 'silent.kubeconfig');
  fs.writeFileSync(kubeconfig, stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'silent', cluster: { server: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`, 'insecure-skip-tls-verify': true } }],
    // A credential, so that kubectl (1.34 and later) does not ask for a user name and exit
    // at once on a closed stdin instead of connecting.
    users: [{ name: 'nobody', user: { token: 'not-a-real-token' } }],
    contexts: [{ name: 'silent', context: { cluster: 'silent', user: 'nobody' } }],
    'current-context': 'silent',
  }));
  try {
    const started = Date.now();
    // 3 s: long enough for kubectl to start and connect even on a loaded machine, well short
    // of the 10 s it would wait for the handshake on its own.
    const result = await runKubectl(loadToolchain().kubectl, kubeconfig, ['get', '--raw', '/readyz'], { timeoutMs: 3_000 });
    expect(result.code).toBeNull();
    expect(Date.now() - started).toBeLessThan(9_000);
    expect(sockets.length).toBeGreaterThan(0);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
