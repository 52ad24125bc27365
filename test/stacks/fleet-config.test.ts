/**
 * The stack configuration's checks: every problem is named with its `kubegate:` key, all of them
 * at once, and a good configuration comes back with its kubeconfigs read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FleetConfigError, parseFleetConfig, type RawConfig } from '../../stacks/fleet-config';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-fleet-config-'));
  fs.mkdirSync(path.join(dir, 'clusters'));
  fs.writeFileSync(path.join(dir, 'clusters', 'hub.kubeconfig'), 'hub kubeconfig text');
  fs.writeFileSync(path.join(dir, 'clusters', 'eu.kubeconfig'), 'eu kubeconfig text');
  fs.mkdirSync(path.join(dir, 'policies'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const IMAGES = { controller: 'r/controller:1', envoy: 'r/envoy:1', agent: 'r/agent:1' };
const HUB = { kubeconfigPath: 'clusters/hub.kubeconfig', apiUrl: 'https://hub.example.com:18005/', agentEndpoint: 'hub.example.com:18003', props: { edgeUrl: 'https://hub.example.com' } };
const EU = { name: 'eu', labels: { env: 'prod' }, kubeconfigPath: 'clusters/eu.kubeconfig', allowedClusterRoles: ['view'] };

function raw(values: Record<string, unknown>): RawConfig {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

function problemsOf(values: Record<string, unknown>): readonly string[] {
  try {
    parseFleetConfig(raw(values), dir);
  } catch (err) {
    expect(err).toBeInstanceOf(FleetConfigError);
    expect((err as FleetConfigError).code).toBe('ERR_FLEET_CONFIG');
    return (err as FleetConfigError).problems;
  }
  throw new Error('expected a FleetConfigError');
}

test('a good configuration: kubeconfigs read from files relative to the project, inline ones kept, defaults filled', () => {
  const config = parseFleetConfig(raw({ images: IMAGES, hub: HUB, clusters: [EU, { name: 'us', kubeconfig: 'inline text', context: 'us-admin', allowedClusterRoles: [], hubAgentEndpoint: '10.0.0.1:18003' }], policies: { directory: 'policies' } }), dir);
  expect(config.hub.kubeconfig).toEqual({ text: 'hub kubeconfig text', source: path.join(dir, 'clusters', 'hub.kubeconfig') });
  expect(config.hub.apiUrl).toBe('https://hub.example.com:18005');
  expect(config.clusters.map((c) => [c.name, c.kubeconfig.text, c.kubeconfig.context, c.labels, c.hubAgentEndpoint])).toEqual([
    ['eu', 'eu kubeconfig text', undefined, { env: 'prod' }, undefined],
    ['us', 'inline text', 'us-admin', {}, '10.0.0.1:18003'],
  ]);
  expect(config.policies).toEqual({ directory: path.join(dir, 'policies') });
});

test('no clusters and no policies is a hub alone', () => {
  const config = parseFleetConfig(raw({ images: IMAGES, hub: HUB }), dir);
  expect(config.clusters).toEqual([]);
  expect(config.policies).toBeUndefined();
});

test('missing images and hub are named', () => {
  expect(problemsOf({})).toEqual(['kubegate:images: is required: {controller, envoy, agent} image references', 'kubegate:hub: is required: the hub cluster and how to reach it']);
});

test('each bad value is named at its key, all at once', () => {
  const problems = problemsOf({
    images: { controller: 'r/c:1', envoy: '' },
    hub: { ...HUB, apiUrl: 'http://hub:80', agentEndpoint: 'hub', extra: 1 },
    clusters: [{ name: 'Bad_Name', kubeconfig: 'x', allowedClusterRoles: 'view', labels: { env: 'a b' } }],
    policies: { dir: 'x' },
  });
  expect(problems).toEqual(
    expect.arrayContaining([
      'kubegate:images.envoy: must be an image reference, not empty',
      'kubegate:images.agent: is required: an image reference',
      'kubegate:hub.apiUrl: must be https://HOST[:PORT] with no path, got "http://hub:80"',
      'kubegate:hub.agentEndpoint: must be HOST:PORT (port 1-65535), got "hub"',
      expect.stringMatching(/^kubegate:hub\.extra: has an unknown key \(expected one of .*apiUrl/),
      'kubegate:clusters[0].name: must be a DNS label (lowercase letters, digits and -, at most 63), got "Bad_Name"',
      'kubegate:clusters[0].allowedClusterRoles: must be a list of ClusterRole names',
      expect.stringMatching(/^kubegate:clusters\[0\]\.labels\.env: must be empty or at most 63/),
      expect.stringMatching(/^kubegate:policies/),
    ]),
  );
});

test('an unknown top-level key is named', () => {
  expect(problemsOf({ images: IMAGES, hub: HUB, clusterz: [] })).toEqual([expect.stringMatching(/^kubegate:clusterz: /)]);
});

test('a plain string where a mapping belongs is named', () => {
  expect(problemsOf({ images: IMAGES, hub: 'hub.example.com' })).toEqual(['kubegate:hub: must be a mapping']);
});

test('duplicate cluster names name both entries', () => {
  expect(problemsOf({ images: IMAGES, hub: HUB, clusters: [EU, { ...EU, labels: {} }] })).toEqual(['kubegate:clusters[1].name: "eu" is also the name of kubegate:clusters[0]; cluster names must be unique']);
});

test('a cluster without a kubeconfig, or with two, is named with how to give one', () => {
  const problems = problemsOf({ images: IMAGES, hub: HUB, clusters: [{ name: 'a', allowedClusterRoles: [] }, { name: 'b', kubeconfig: 'x', kubeconfigPath: 'y', allowedClusterRoles: [] }] });
  expect(problems).toEqual([
    "kubegate:clusters[0]: has no kubeconfig: set kubegate:clusters[0].kubeconfig (`pulumi config set --secret --path 'clusters[0].kubeconfig' -- \"$(cat FILE)\"`) or kubegate:clusters[0].kubeconfigPath",
    'kubegate:clusters[1]: give kubeconfig or kubeconfigPath, not both',
  ]);
});

test('a kubeconfig file that cannot be read is named with where it was looked for', () => {
  const problems = problemsOf({ images: IMAGES, hub: { ...HUB, kubeconfigPath: 'clusters/nope.kubeconfig' }, clusters: [EU] });
  expect(problems).toEqual([`kubegate:hub.kubeconfigPath: clusters/nope.kubeconfig cannot be read (ENOENT; resolved to ${path.join(dir, 'clusters', 'nope.kubeconfig')})`]);
});

test('a policy directory that does not exist is named', () => {
  expect(problemsOf({ images: IMAGES, hub: HUB, policies: { directory: 'missing' } })).toEqual([`kubegate:policies.directory: missing is not a directory (resolved to ${path.join(dir, 'missing')})`]);
});
