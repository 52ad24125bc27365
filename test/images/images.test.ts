/**
 * kubegate's images, built by the project's own build with no Docker daemon, pushed to a real
 * local registry and pulled back: the config says non-root and names the entrypoint, nothing
 * but the programs is inside (no shell, no package manager), the contents list is there, tags
 * follow the content, a second build gives the same digests, and each image's program really
 * starts from the pulled root filesystem, mounted read-only, as the image's user.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadToolchain } from '../../dev/toolchain/tools';
import { projectRoot } from '../../control-plane/proto/project-root';
import { silentLogger } from '../../control-plane/log/logger';
import { startLocalRegistry, type LocalRegistry } from '../../dev/images/local-registry';
import { buildImages, type BuiltImage } from '../../dev/images/build-images';
import { runCommand } from '../support/run-command';
import { runCli } from '../cli/run-cli';

jest.setTimeout(600_000);

const tools = loadToolchain();
let dir: string;
let registry: LocalRegistry;
let images: BuiltImage[];
const image = (name: string) => images.find((i) => i.name === name)!;
const crane = (...args: string[]) => runCommand(tools.crane, ['--insecure', ...args], { timeoutMs: 120_000 });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-images-'));
  registry = await startLocalRegistry({ crane: tools.crane, dir: path.join(dir, 'registry'), logger: silentLogger });
  images = await buildImages({ crane: tools.crane, registry: registry.address, projectRoot: projectRoot(), node: process.execPath, envoy: tools.envoy, workDir: path.join(dir, 'work-1'), logger: silentLogger });
});

afterAll(async () => {
  await registry?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('three images, each named by its digest and tagged by it, in the registry', async () => {
  expect(images.map((i) => i.name)).toEqual(['controller', 'agent', 'envoy']);
  for (const i of images) {
    expect(i.reference).toBe(`${registry.address}/kubegate/${i.name}@${i.digest}`);
    expect((await crane('digest', `${registry.address}/kubegate/${i.name}:${i.tag}`)).stdout.trim()).toBe(i.digest);
  }
});

test.each(['controller', 'agent', 'envoy'])('%s: a non-root user, an entrypoint, linux/amd64', async (name) => {
  const config = JSON.parse((await crane('config', image(name).reference)).stdout) as { os: string; architecture: string; config: { User: string; Entrypoint: string[] } };
  expect(config).toMatchObject({ os: 'linux', architecture: 'amd64' });
  expect(config.config.User).toBe('65532:65532');
  expect(config.config.Entrypoint[0]).toMatch(/^\/usr\/local\/bin\/(node|envoy)$/);
});

test.each(['controller', 'agent', 'envoy'])('%s: no shell, no package manager, and a list of what is inside', async (name) => {
  const files = (await crane('export', image(name).reference, path.join(dir, `${name}.tar`))).code === 0 ? tarList(path.join(dir, `${name}.tar`)) : [];
  expect(files.length).toBeGreaterThan(5);
  for (const forbidden of ['bin/sh', 'bin/bash', 'usr/bin/apt', 'usr/bin/dpkg', 'usr/bin/npm']) expect(files).not.toContain(forbidden);
  expect(files).toContain('usr/share/doc/kubegate/contents.json');
  const contents = image(name).contents;
  if (name === 'envoy') expect(Object.keys(contents.programs)).toEqual(['envoy']);
  else {
    expect(contents.programs.node).toBe(process.version);
    expect(contents.npmPackages.map((p) => p.name)).toEqual(expect.arrayContaining(name === 'controller' ? ['fastify', 'better-sqlite3', '@grpc/grpc-js'] : ['@grpc/grpc-js']));
    // The controller renders agent manifests for install links from the constructs; the agent
    // needs no construct library.
    if (name === 'controller') expect(contents.npmPackages.map((p) => p.name)).toEqual(expect.arrayContaining(['cdk8s', 'cdk8s-plus-27', 'constructs']));
    else expect(contents.npmPackages.map((p) => p.name)).not.toContain('cdk8s-plus-27');
  }
  expect(contents.hostFiles.some((f) => f.path.includes('libc.so.6') && f.debianPackage?.startsWith('libc6'))).toBe(true);
});

test('the controller and agent images share their runtime layer; the agent carries only its own packages', async () => {
  const layers = async (name: string) => (JSON.parse((await crane('manifest', image(name).reference)).stdout) as { layers: Array<{ digest: string; size: number }> }).layers;
  const [controller, agent] = [await layers('controller'), await layers('agent')];
  expect(controller[0]).toEqual(agent[0]);
  expect(agent[1]!.size).toBeLessThan(controller[1]!.size);
  const agentPackages = image('agent').contents.npmPackages.map((p) => p.name);
  expect(agentPackages).toEqual(expect.arrayContaining(['@grpc/grpc-js', 'ajv']));
  for (const controllerOnly of ['fastify', 'better-sqlite3', 'pg', 'jose']) expect(agentPackages).not.toContain(controllerOnly);
});

test('building again from the same checkout gives the same digests', async () => {
  const again = await buildImages({ crane: tools.crane, registry: registry.address, projectRoot: projectRoot(), node: process.execPath, envoy: tools.envoy, workDir: path.join(dir, 'work-2'), logger: silentLogger });
  expect(again.map((i) => i.digest)).toEqual(images.map((i) => i.digest));
});

describe('kubegate dev images', () => {
  test.each([
    [['dev', 'images'], 'kubegate dev: dev images needs --registry HOST:PORT (the registry to push to)\n'],
    [['dev', 'images', '--registry', 'http://127.0.0.1:5000'], 'kubegate dev: --registry "http://127.0.0.1:5000" is not HOST or HOST:PORT\n'],
    [['dev', 'up', '--registry', '127.0.0.1:5000'], 'kubegate dev: --registry and --results are for dev images\n'],
  ])('%j is a usage error, named before anything is built', async (args, message) => {
    expect(await runCli(args)).toEqual({ code: 2, stdout: '', stderr: message });
  });

  test('builds and pushes the same images, prints them by digest and writes the results file', async () => {
    const results = path.join(dir, 'images.json');
    const r = await runCli(['dev', 'images', '--registry', registry.address, '--results', results]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(images.map((i) => `${i.name}\t${i.reference}\n`).join(''));
    const written = JSON.parse(fs.readFileSync(results, 'utf8')) as { images: BuiltImage[] };
    expect(written.images.map((i) => i.reference)).toEqual(images.map((i) => i.reference));
  });
});

describe('each program starts from the pulled image, read-only, as the image user', () => {
  /** Runs `argv` chrooted into the image's exported root, mounted read-only, as 65532:65532. */
  async function runIn(name: string, argv: readonly string[]) {
    const root = path.join(dir, `${name}-root`);
    fs.mkdirSync(root, { recursive: true });
    execFileSync('tar', ['-xf', path.join(dir, `${name}.tar`), '-C', root]);
    return runCommand('unshare', ['--mount', '--fork', '--', 'sh', '-c', 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec chroot --userspec=65532:65532 "$@"', 'run-in-image', root, root, ...argv], {
      timeoutMs: 60_000,
      // A container starts with the image's environment, not the test runner's.
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
  }

  test('the controller prints its usage, and its native SQLite module loads', async () => {
    const usage = await runIn('controller', ['/usr/local/bin/node', '/app/dist/control-plane/server/main.js', '--help']);
    expect(usage.stdout + usage.stderr).toContain('--config');
    const sqlite = await runIn('controller', ['/usr/local/bin/node', '-e', "process.stdout.write(String(new (require('/app/node_modules/better-sqlite3'))(':memory:').prepare('select 41 + 1 as x').get().x))"]);
    expect(sqlite.stderr).toBe('');
    expect(sqlite.stdout).toBe('42');
  });

  test('the agent prints its usage', async () => {
    const usage = await runIn('agent', ['/usr/local/bin/node', '/app/dist/agent/main.js', '--help']);
    expect(usage.stdout + usage.stderr).toContain('--control-plane');
  });

  test('envoy says its version', async () => {
    const version = await runIn('envoy', ['/usr/local/bin/envoy', '--version']);
    expect(version.stdout).toContain(`/${tools.versions.envoy}/`);
  });
});

function tarList(file: string): string[] {
  return execFileSync('tar', ['-tf', file], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .map((l) => l.replace(/^\.\//, '').replace(/\/$/, ''))
    .filter(Boolean);
}
