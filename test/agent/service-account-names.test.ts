/**
 * Names of per-user ServiceAccounts and bindings: deterministic, valid Kubernetes names, never
 * shared by two users or two grants.
 */
import { createHash } from 'node:crypto';
import * as fc from 'fast-check';
import {
  bindingName,
  isDnsLabel,
  sanitizeForName,
  serviceAccountName,
  serviceAccountUsername,
  userHash,
  userLabels,
} from '../../agent/service-accounts/service-account-names';
import { desiredBindings } from '../../agent/service-accounts/desired-access';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const anyUser = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }), fc.emailAddress(), fc.string({ minLength: 1, maxLength: 300 }));
const anyRole = fc.oneof(fc.constantFrom('view', 'edit', 'admin', 'system:aggregate-to-view', 'kubegate.io:payments-operator'), fc.string({ minLength: 1, maxLength: 120 }));
const anyScope = fc.oneof(fc.constant({ kind: 'cluster' as const }), fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/).map((namespace) => ({ kind: 'namespace' as const, namespace })));

describe('ServiceAccount names', () => {
  test('keep a readable prefix of the user name and end in the first 10 hex of sha256(user)', () => {
    expect(serviceAccountName('alice@example.com')).toBe(`u-alice-example-com-${sha('alice@example.com').slice(0, 10)}`);
    expect(serviceAccountName('Bob Smith')).toBe(`u-bob-smith-${sha('Bob Smith').slice(0, 10)}`);
    expect(serviceAccountName('Zoë Ångström')).toBe(`u-zoe-angstrom-${sha('Zoë Ångström').slice(0, 10)}`);
    expect(serviceAccountName('--Weird__Name--')).toBe(`u-weird-name-${sha('--Weird__Name--').slice(0, 10)}`);
  });

  test('are only the hash when nothing readable is left', () => {
    expect(serviceAccountName('日本語')).toBe(`u-${sha('日本語').slice(0, 10)}`);
    expect(serviceAccountName('@@@')).toBe(`u-${sha('@@@').slice(0, 10)}`);
  });

  test('cut the prefix at 30 characters without leaving a trailing dash', () => {
    const long = 'a'.repeat(29) + '-bbbbbbbb';
    expect(sanitizeForName(long, 30)).toBe('a'.repeat(29));
    expect(serviceAccountName('x'.repeat(100))).toBe(`u-${'x'.repeat(30)}-${sha('x'.repeat(100)).slice(0, 10)}`);
  });

  test('are deterministic and valid DNS-1123 labels for any user name', () => {
    fc.assert(
      fc.property(anyUser, (user) => {
        const name = serviceAccountName(user);
        expect(serviceAccountName(user)).toBe(name);
        expect(isDnsLabel(name)).toBe(true);
        expect(name.length).toBeLessThanOrEqual(43);
      }),
      { numRuns: 2000 },
    );
  });

  test('differ for different users, including users whose names sanitize alike', () => {
    expect(serviceAccountName('Alice')).not.toBe(serviceAccountName('alice'));
    expect(serviceAccountName('a.b')).not.toBe(serviceAccountName('a-b'));
    fc.assert(
      fc.property(fc.uniqueArray(anyUser, { minLength: 2, maxLength: 60 }), (users) => {
        expect(new Set(users.map(serviceAccountName)).size).toBe(users.length);
      }),
      { numRuns: 300 },
    );
  });

  test('user-hash label is 32 hex of sha256(user), a valid label value; the SA user name is the apiserver form', () => {
    fc.assert(
      fc.property(anyUser, (user) => {
        expect(userHash(user)).toBe(sha(user).slice(0, 32));
        expect(userLabels(user)).toEqual({ 'app.kubernetes.io/managed-by': 'kubegate', 'kubegate.io/user-hash': sha(user).slice(0, 32) });
      }),
    );
    expect(serviceAccountUsername('kubegate-users', 'u-bob-1')).toBe('system:serviceaccount:kubegate-users:u-bob-1');
  });
});

describe('binding names', () => {
  test('are valid DNS labels of at most 63 characters that start with the ServiceAccount name', () => {
    fc.assert(
      fc.property(anyUser, anyRole, anyScope, (user, role, scope) => {
        const sa = serviceAccountName(user);
        const name = bindingName(sa, role, scope);
        expect(isDnsLabel(name)).toBe(true);
        expect(name.startsWith(`${sa}-`)).toBe(true);
        expect(bindingName(sa, role, scope)).toBe(name);
      }),
      { numRuns: 2000 },
    );
  });

  test('differ between roles and between scopes of one ServiceAccount, even for roles with a long common prefix', () => {
    const sa = serviceAccountName('x'.repeat(60));
    const a = bindingName(sa, 'payments-operator-read', { kind: 'cluster' });
    const b = bindingName(sa, 'payments-operator-write', { kind: 'cluster' });
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(63);
    fc.assert(
      fc.property(anyUser, fc.uniqueArray(fc.tuple(anyRole, anyScope), { minLength: 2, maxLength: 20, selector: ([r, s]) => `${r}|${s.kind === 'cluster' ? '' : s.namespace}` }), (user, grants) => {
        const sa2 = serviceAccountName(user);
        const names = grants.map(([r, s]) => bindingName(sa2, r, s));
        expect(new Set(names).size).toBe(grants.length);
      }),
      { numRuns: 300 },
    );
  });

  test('readable example', () => {
    const sa = serviceAccountName('alice@example.com');
    expect(bindingName(sa, 'view', { kind: 'namespace', namespace: 'payments' })).toMatch(new RegExp(`^${sa}-view-[0-9a-f]{8}$`));
  });
});

describe('desiredBindings', () => {
  const sa = serviceAccountName('alice');

  test('a grant without namespaces is one ClusterRoleBinding; with namespaces one RoleBinding per namespace', () => {
    const bindings = desiredBindings({ user: 'alice', clusterRoles: [{ name: 'view' }, { name: 'edit', namespaces: ['a', 'b'] }] }, sa);
    expect(bindings).toEqual([
      { kind: 'ClusterRoleBinding', name: bindingName(sa, 'view', { kind: 'cluster' }), clusterRole: 'view' },
      { kind: 'RoleBinding', namespace: 'a', name: bindingName(sa, 'edit', { kind: 'namespace', namespace: 'a' }), clusterRole: 'edit' },
      { kind: 'RoleBinding', namespace: 'b', name: bindingName(sa, 'edit', { kind: 'namespace', namespace: 'b' }), clusterRole: 'edit' },
    ]);
  });

  test('repeated grants yield each binding once, and an empty namespace list binds nowhere', () => {
    const bindings = desiredBindings({ user: 'alice', clusterRoles: [{ name: 'view' }, { name: 'view' }, { name: 'edit', namespaces: ['a', 'a'] }, { name: 'admin', namespaces: [] }] }, sa);
    expect(bindings.map((b) => `${b.kind}/${b.namespace ?? ''}/${b.clusterRole}`)).toEqual(['ClusterRoleBinding//view', 'RoleBinding/a/edit']);
  });
});
