/**
 * The agent's command line: defaults from what Kubernetes mounts in a pod, and every bad flag
 * named before anything starts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgentConfigError } from '../../agent/runtime/agent';
import { parseAgentFlags } from '../../agent/runtime/agent-flags';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-agent-flags-'));
const ca = path.join(dir, 'ca.pem');
const token = path.join(dir, 'token');
const join = path.join(dir, 'join');
fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
fs.writeFileSync(token, 'sa-token\n');
fs.writeFileSync(join, 'kgj_abc.def\n');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const base = ['--cluster', 'prod-a', '--control-plane', '10.0.0.1:7443', '--control-plane-ca-file', ca, '--kube-server', 'https://127.0.0.1:6443', '--kube-ca-file', ca, '--kube-token-file', token];

test('a complete command line becomes the agent\'s props', () => {
  const parsed = parseAgentFlags([...base, '--label', 'env=prod', '--label=region=eu', '--join-token-file', join, '--state-dir', dir, '--allowed-cluster-role', 'view', '--allowed-cluster-role', 'edit'], {});
  expect(parsed.help).toBe(false);
  if (parsed.help) return;
  expect(parsed.props).toMatchObject({
    cluster: 'prod-a',
    labels: { env: 'prod', region: 'eu' },
    stateDir: dir,
    controlPlane: { host: '10.0.0.1', port: 7443 },
    joinToken: 'kgj_abc.def',
    kube: { server: 'https://127.0.0.1:6443', credentials: { kind: 'token-file', path: token } },
    allowedClusterRoles: ['view', 'edit'],
  });
  expect(parsed.props.controlPlane.caPem).toContain('BEGIN CERTIFICATE');
});

test('in a pod: the Envoy beside it to drain and count tunnels of, the drain limit and the health address', () => {
  const parsed = parseAgentFlags([...base, '--envoy-admin', '127.0.0.1:9901', '--drain-timeout-seconds', '7', '--health-address', '0.0.0.0:8081'], {});
  if (parsed.help) throw new Error('unexpected help');
  expect(parsed.props).toMatchObject({ envoyAdmin: '127.0.0.1:9901', drainTimeoutMs: 7000, health: { host: '0.0.0.0', port: 8081 } });
  const bare = parseAgentFlags(base, {});
  if (bare.help) throw new Error('unexpected help');
  expect(bare.props).not.toHaveProperty('envoyAdmin');
  expect(bare.props).not.toHaveProperty('health');
  const v6 = parseAgentFlags([...base, '--health-address', '[::]:8081'], {});
  if (v6.help) throw new Error('unexpected help');
  expect(v6.props.health).toEqual({ host: '::', port: 8081 });
});

test('in a pod the apiserver comes from KUBERNETES_SERVICE_HOST/PORT, and the join token may come from the environment', () => {
  const parsed = parseAgentFlags(base.filter((_, i) => i < 6).concat(['--kube-ca-file', ca, '--kube-token-file', token]), { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443', KUBEGATE_JOIN_TOKEN: 'kgj_env.tok' });
  if (parsed.help) throw new Error('unexpected help');
  expect(parsed.props.kube.server).toBe('https://[fd00::1]:443');
  expect(parsed.props.joinToken).toBe('kgj_env.tok');
});

test('--help asks for the usage', () => {
  expect(parseAgentFlags(['--help'])).toEqual({ help: true });
  expect((parseAgentFlags([...base, '--identity-secret', 'kubegate-system/kubegate-agent-identity']) as { props: { identitySecret?: object } }).props.identitySecret).toEqual({ namespace: 'kubegate-system', name: 'kubegate-agent-identity' });
});

test.each([
  [['--cluster', 'prod-a', '--bogus'], /unknown argument "--bogus"/],
  [[], /--cluster is required/],
  [['--cluster', 'Prod_A'], /--cluster "Prod_A" must be a DNS label/],
  [['--cluster', 'a', '--cluster', 'b'], /--cluster is given twice/],
  [['--cluster', 'a', '--label', 'novalue', '--control-plane', 'h:1'], /--label "novalue" must be KEY=VALUE/],
  [['--cluster', 'a'], /--control-plane HOST:PORT is required/],
  [['--cluster', 'a', '--control-plane', 'host'], /--control-plane "host" must be HOST:PORT/],
  [['--cluster', 'a', '--control-plane', 'h:99999'], /must be HOST:PORT/],
  [['--cluster', 'a', '--control-plane', 'h:1'], /--control-plane-ca-file is required/],
  [['--cluster', 'a', '--control-plane', 'h:1', '--control-plane-ca-file', '/nonexistent/ca.pem'], /--control-plane-ca-file \/nonexistent\/ca.pem: no such file/],
  [['--cluster', 'a', '--control-plane', 'h:1', '--control-plane-ca-file', token], /holds no PEM certificate/],
  [['--cluster', 'a', '--control-plane', 'h:1', '--control-plane-ca-file', ca], /--kube-server is required outside a pod/],
  [['--cluster', 'a', '--control-plane', 'h:1', '--control-plane-ca-file', ca, '--kube-server', 'http://x:1'], /must be https:\/\//],
  [['--cluster', 'a', '--control-plane', 'h:1', '--control-plane-ca-file', ca, '--kube-server', 'not a url'], /is not a URL/],
  [['--cluster', 'a', '--control-plane', 'h:1', '--control-plane-ca-file', ca, '--kube-server', 'https://x:1', '--kube-ca-file', ca, '--kube-token-file', '/nonexistent/token'], /--kube-token-file \/nonexistent\/token does not exist/],
  [['--cluster', 'a', '--control-plane', 'h:1', '--control-plane-ca-file', ca, '--identity-secret', 'no-namespace'], /--identity-secret "no-namespace" must be NAMESPACE\/NAME of a Secret/],
  [['--cluster'], /--cluster needs a value/],
  [['--cluster='], /--cluster needs a value/],
  [['--cluster', 'a', 'extra'], /unknown argument "extra"/],
  [['--help=yes'], /unknown argument "--help=yes"/],
  [['--cluster', 'a', '--label', '=prod'], /--label "=prod" must be KEY=VALUE/],
  [['--cluster', 'a', '--control-plane', 'h:0'], /--control-plane "h:0" must be HOST:PORT/],
  [['--cluster', 'a', '--control-plane', 'h:65536'], /--control-plane "h:65536" must be HOST:PORT/],
  [['--cluster', 'a', '--control-plane', '[fd00::1]:443', '--control-plane-ca-file', '/nonexistent/ca.pem'], /no such file/],
  [['--cluster', 'a', '--control-plane', 'h:1', '--control-plane-ca-file', ca, '--envoy-admin', '9901'], /--envoy-admin "9901" must be HOST:PORT/],
  [['--cluster', 'a', '--control-plane', 'h:1', '--control-plane-ca-file', ca, '--health-address', 'localhost'], /--health-address "localhost" must be HOST:PORT/],
  [['--cluster', 'a', '--control-plane', 'h:1', '--control-plane-ca-file', ca, '--drain-timeout-seconds', '-1'], /--drain-timeout-seconds "-1" must be a whole number of seconds from 0 to 9999/],
  [['--cluster', 'a', '--control-plane', 'h:1', '--control-plane-ca-file', ca, '--drain-timeout-seconds', '2.5'], /--drain-timeout-seconds "2.5" must be a whole number/],
])('%j is refused', (argv, message) => {
  expect(() => parseAgentFlags(argv, {})).toThrow(AgentConfigError);
  expect(() => parseAgentFlags(argv, {})).toThrow(message);
});
