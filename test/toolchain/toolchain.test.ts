/**
 * The toolchain's failure paths: what a user sees when something is missing. The success path
 * is exercised by every end-to-end test, which runs the installed binaries.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCommand } from '../support/run-command';
import { loadToolchain, pinnedVersions, ToolchainMissingError } from '../../dev/toolchain/tools';

const root = path.join(__dirname, '..', '..');
const installer = path.join(root, 'toolchain', 'install.sh');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-toolchain-'));

describe('toolchain/install.sh', () => {
  test('without Go it stops with an error that names Go, after keeping what it could install', async () => {
    const cache = tmp();
    const versions = pinnedVersions();
    // Pretend Envoy is already installed so the run reaches the first Go build at once.
    fs.mkdirSync(path.join(cache, `envoy-${versions.ENVOY_VERSION}`), { recursive: true });
    fs.writeFileSync(path.join(cache, `envoy-${versions.ENVOY_VERSION}`, '.complete'), '');
    const pathWithoutGo = (process.env.PATH ?? '')
      .split(':')
      .filter((dir) => !fs.existsSync(path.join(dir, 'go')))
      .join(':');
    const r = await runCommand('bash', [installer], { env: { ...process.env, PATH: pathWithoutGo, KUBEGATE_CACHE_DIR: cache } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('msg="envoy cached"');
    expect(r.stderr).toMatch(/level=error component=toolchain msg="no Go toolchain on PATH: etcd and kube-apiserver are built from Go modules; install Go 1.24 or newer" need=go/);
    expect(fs.existsSync(path.join(cache, 'tools.json'))).toBe(false);
    fs.rmSync(cache, { recursive: true, force: true });
  });

  test('--print-dir names the cache directory it would use', async () => {
    const r = await runCommand('bash', [installer, '--print-dir'], { env: { ...process.env, KUBEGATE_CACHE_DIR: '/nonexistent/kubegate-cache' } });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('/nonexistent/kubegate-cache');
  });
});

describe('loadToolchain', () => {
  test('with no tools.json it says to run the installer', () => {
    const cache = tmp();
    expect(() => loadToolchain({ KUBEGATE_CACHE_DIR: cache })).toThrow(ToolchainMissingError);
    expect(() => loadToolchain({ KUBEGATE_CACHE_DIR: cache })).toThrow(/no toolchain at .*tools.json: run toolchain\/install.sh/);
  });

  test('a toolchain built for other versions is refused', () => {
    const cache = tmp();
    fs.writeFileSync(path.join(cache, 'tools.json'), JSON.stringify({ versions: { envoy: '1.0.0', kubernetes: '1.0.0', etcd: '3.0.0' }, envoy: '/bin/true', etcd: '/bin/true', kubeApiserver: '/bin/true', kubectl: '/bin/true' }));
    expect(() => loadToolchain({ KUBEGATE_CACHE_DIR: cache })).toThrow(/was built for other versions than toolchain\/versions.env/);
  });

  test('a binary that went missing is named', () => {
    const cache = tmp();
    const v = pinnedVersions();
    fs.writeFileSync(
      path.join(cache, 'tools.json'),
      JSON.stringify({
        versions: { envoy: v.ENVOY_VERSION, kubernetes: v.KUBERNETES_VERSION, etcd: v.ETCD_VERSION, kwok: v.KWOK_VERSION },
        envoy: '/bin/true',
        etcd: path.join(cache, 'gone', 'etcd'),
        kubeApiserver: '/bin/true',
        kubeScheduler: '/bin/true',
        kubeControllerManager: '/bin/true',
        kwok: '/bin/true',
        kwokStages: cache,
        kubectl: '/bin/true',
      }),
    );
    expect(() => loadToolchain({ KUBEGATE_CACHE_DIR: cache })).toThrow(`etcd binary ${path.join(cache, 'gone', 'etcd')} is missing`);
  });

  test('a tools.json from before the scheduler, controller manager and kwok were added says to run the installer', () => {
    const cache = tmp();
    const v = pinnedVersions();
    // The old shape, with today's versions: only the new keys are missing.
    fs.writeFileSync(
      path.join(cache, 'tools.json'),
      JSON.stringify({ versions: { envoy: v.ENVOY_VERSION, kubernetes: v.KUBERNETES_VERSION, etcd: v.ETCD_VERSION, kwok: v.KWOK_VERSION }, envoy: '/bin/true', etcd: '/bin/true', kubeApiserver: '/bin/true', kubectl: '/bin/true' }),
    );
    expect(() => loadToolchain({ KUBEGATE_CACHE_DIR: cache })).toThrow(/kubeScheduler binary undefined is missing: run toolchain\/install.sh/);
  });

  test('the installed toolchain matches the pinned versions and runs', async () => {
    const tools = loadToolchain();
    const v = pinnedVersions();
    expect(tools.versions).toEqual({ envoy: v.ENVOY_VERSION, kubernetes: v.KUBERNETES_VERSION, etcd: v.ETCD_VERSION, kwok: v.KWOK_VERSION, crane: v.CRANE_VERSION, helm: v.HELM_VERSION, coredns: v.COREDNS_VERSION, pulumi: v.PULUMI_VERSION, pulumiKubernetes: v.PULUMI_KUBERNETES_VERSION });
    // The Pulumi CLI says the version of the npm SDK it was built to match; its plugins sit beside it.
    expect((await runCommand(tools.pulumi, ['version'], { env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: 'true' } })).stdout.trim()).toBe(`v${v.PULUMI_VERSION}`);
    for (const plugin of [tools.pulumiLanguageNodejs, tools.pulumiDynamicProvider]) expect(path.dirname(plugin)).toBe(path.dirname(tools.pulumi));
    expect(fs.statSync(tools.pulumiKubernetes).mode & 0o111).not.toBe(0);
    expect((await runCommand(tools.crane, ['version'])).stdout.trim()).toBe(`v${v.CRANE_VERSION}`);
    expect((await runCommand(tools.envoy, ['--version'])).stdout).toContain(`/${v.ENVOY_VERSION}/`);
    expect((await runCommand(tools.kubeApiserver, ['--version'])).stdout.trim()).toBe(`Kubernetes v${v.KUBERNETES_VERSION}`);
    expect((await runCommand(tools.etcd, ['--version'])).stdout).toContain(`etcd Version: ${v.ETCD_VERSION}`);
    // Built from the same tools module with the same version ldflags as kube-apiserver.
    expect((await runCommand(tools.kubeScheduler, ['--version'])).stdout.trim()).toBe(`Kubernetes v${v.KUBERNETES_VERSION}`);
    expect((await runCommand(tools.kubeControllerManager, ['--version'])).stdout.trim()).toBe(`Kubernetes v${v.KUBERNETES_VERSION}`);
    expect((await runCommand(tools.kubelet, ['--version'])).stdout.trim()).toBe(`Kubernetes v${v.KUBERNETES_VERSION}`);
    expect((await runCommand(tools.kubeProxy, ['--version'])).stdout.trim()).toBe(`Kubernetes v${v.KUBERNETES_VERSION}`);
    // Real nodes' runtime, from Debian's packages.
    expect((await runCommand(tools.containerd, ['--version'])).stdout).toMatch(/^containerd /);
    expect((await runCommand(tools.runc, ['--version'])).stdout).toMatch(/^runc version /);
    for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap']) expect(fs.existsSync(path.join(tools.cniPluginDir, plugin))).toBe(true);
    // kubegate's own pause program, static so it runs in an image with nothing else in it.
    expect((await runCommand(tools.pause, ['--version'])).stdout.trim()).toBe('kubegate-pause 1');
    expect((await runCommand('ldd', [tools.pause])).stdout + (await runCommand('ldd', [tools.pause])).stderr).toMatch(/not a dynamic executable/);
    expect((await runCommand(tools.kwok, ['--version'])).stdout).toContain(`kwok version v${v.KWOK_VERSION} `);
    expect(fs.readdirSync(tools.kwokStages).sort()).toEqual(['node-heartbeat-with-lease.yaml', 'node-initialize.yaml', 'pod-complete.yaml', 'pod-delete.yaml', 'pod-ready.yaml']);
  });
});
