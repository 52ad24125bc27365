/**
 * Reading one context of a kubeconfig for the stacks' own requests: embedded and file-based
 * credentials, tokens, and a clear refusal for everything else.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { kubeTarget, KubeconfigError } from '../../stacks/kube/kubeconfig-target';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://10.0.0.1:6443/', 'certificate-authority-data': b64('CA PEM') }, extra: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'main',
    contexts: [
      { name: 'main', context: { cluster: 'c', user: 'u' } },
      { name: 'other', context: { cluster: 'c2', user: 'u' } },
    ],
    clusters: [
      { name: 'c', cluster },
      { name: 'c2', cluster: { server: 'https://10.0.0.2:6443', 'insecure-skip-tls-verify': true, 'tls-server-name': 'api.internal' } },
    ],
    users: [{ name: 'u', user }],
    ...extra,
  });
}

test('the current context: server without trailing slash, CA and client certificate from data', () => {
  expect(kubeTarget(kubeconfig({ 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') }), 'k')).toEqual({ server: 'https://10.0.0.1:6443', caPem: 'CA PEM', certPem: 'CERT', keyPem: 'KEY' });
});

test('a named context, a token, skip-verify and a TLS server name', () => {
  expect(kubeTarget(kubeconfig({ token: 'abc' }), 'k', 'other')).toEqual({ server: 'https://10.0.0.2:6443', insecureSkipTlsVerify: true, tlsServerName: 'api.internal', token: 'abc' });
});

test('credentials in files, and a token file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-kubeconfig-'));
  try {
    for (const [f, t] of [['ca', 'CA'], ['crt', 'CERT'], ['key', 'KEY'], ['token', 'tok\n']]) fs.writeFileSync(path.join(dir, f!), t!);
    const text = kubeconfig({ 'client-certificate': path.join(dir, 'crt'), 'client-key': path.join(dir, 'key'), tokenFile: path.join(dir, 'token') }, { server: 'https://h:1', 'certificate-authority': path.join(dir, 'ca') });
    expect(kubeTarget(text, 'k')).toEqual({ server: 'https://h:1', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY', token: 'tok' });
    const missing = kubeconfig({}, { server: 'https://h:1', 'certificate-authority': path.join(dir, 'nope') });
    expect(() => kubeTarget(missing, "cluster a's kubeconfig")).toThrow(`cluster a's kubeconfig names ${path.join(dir, 'nope')}, which cannot be read: ENOENT`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.each([
  ['not YAML', ': : :\n  - [', /k is not YAML/],
  ['not a mapping', '42', /k is not a kubeconfig/],
  ['no current context', stringify({ contexts: [] }), /k names no current-context; give a context/],
  ['an unknown context', kubeconfig({ token: 't' }, undefined, { 'current-context': 'gone' }), /k has no context named "gone"/],
  ['a plain-http server', kubeconfig({ token: 't' }, { server: 'http://h:80' }), /k: cluster "c" has no https server URL \(got "http:\/\/h:80"\)/],
  ['an exec plugin', kubeconfig({ exec: { command: 'aws' } }), /gets its credential from a program \(exec or auth-provider\)/],
  ['an auth provider', kubeconfig({ 'auth-provider': { name: 'gcp' } }), /gets its credential from a program/],
  ['a certificate without its key', kubeconfig({ 'client-certificate-data': b64('CERT') }), /a client certificate without its key/],
])('refuses %s, by name', (_what, text, message) => {
  let error: unknown;
  try {
    kubeTarget(text, 'k');
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(KubeconfigError);
  expect((error as KubeconfigError).code).toBe('ERR_KUBECONFIG');
  expect((error as Error).message).toMatch(message);
});
