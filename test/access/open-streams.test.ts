/**
 * Long-lived requests are remembered and decided again when anything they rest on changes;
 * the users whose streams lost their access are the ones whose filter chains get drained.
 */
import { OpenStreams, isLongLived } from '../../control-plane/access-state/open-streams';
import { AccessState } from '../../control-plane/access-state/access-state';
import { parseRequestAttributes } from '../../control-plane/kubernetes-api/request-attributes';
import type { AuthzRequest, Decision } from '../../control-plane/authz/decision';
import type { StoreState, UserRecord } from '../../control-plane/store/store';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const user = (name: string, groups: string[]): UserRecord => ({ name, groups, disabled: false, createdAt: NOW, updatedAt: NOW, credentialRevision: 0 });
const policy = (extra = '') => `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: dev}
spec:
  subjects: {groups: [dev]}
  clusters: {all: true}
  rules:
    - {apiGroups: [""], resources: [configmaps, pods, pods/exec, pods/log], verbs: ["*"], namespaces: [a]}
${extra}`;

function state(users: UserRecord[], text = policy(), generation = 1): StoreState {
  return {
    generation,
    users,
    groups: [],
    revokedSerials: [],
    liveCertificates: [],
    policySet: { revision: generation, files: [{ fileName: 'p.yaml', text }], appliedAt: NOW, appliedBy: 't' },
    breakGlass: [],
    sessions: [],
    clusters: [],
    edgeDrains: { users: {}, sharedChain: 0, userDeletions: 0 },
  };
}

const request = (id: string): AuthzRequest => ({ requestId: id, method: 'GET', path: '', headers: {}, sourceAddress: '', peerCertificatePem: '', serverName: '' });
const allow = (name: string): Extract<Decision, { allowed: true }> => ({ allowed: true, identity: { user: name, groups: ['dev'] }, cluster: 'alpha', reason: 't' });

let access: AccessState;
let streams: OpenStreams;

beforeEach(() => {
  access = new AccessState();
  access.applyStoreState(state([user('alice', ['dev']), user('bob', ['dev'])]));
  access.setClusters([{ name: 'alpha', labels: {} }]);
  streams = new OpenStreams();
});

test.each([
  ['GET', '/api/v1/namespaces/a/configmaps?watch=true', true],
  ['GET', '/api/v1/watch/namespaces/a/configmaps', true],
  ['POST', '/api/v1/namespaces/a/pods/web/exec?command=sh', true],
  ['GET', '/api/v1/namespaces/a/pods/web/log?follow=true', true],
  ['GET', '/api/v1/namespaces/a/services/web/proxy/x', true],
  ['GET', '/api/v1/namespaces/a/configmaps', false],
  ['DELETE', '/api/v1/namespaces/a/pods/web', false],
])('%s %s is long-lived: %s', (method, path, expected) => {
  expect(isLongLived(parseRequestAttributes(method, path))).toBe(expected);
});

test('only long-lived requests with an id are tracked, and a finished one is forgotten', () => {
  const watch = parseRequestAttributes('GET', '/api/v1/namespaces/a/configmaps?watch=true');
  expect(streams.allowed(request('w1'), allow('alice'), watch, NOW)).toBe(true);
  expect(streams.allowed(request(''), allow('alice'), watch, NOW)).toBe(false);
  expect(streams.allowed(request('l1'), allow('alice'), parseRequestAttributes('GET', '/api/v1/namespaces/a/configmaps'), NOW)).toBe(false);
  expect(streams.size).toBe(1);
  streams.ended('w1');
  expect(streams.size).toBe(0);
});

test("a user who lost access is returned for draining, and only that user; their streams are forgotten", () => {
  const watch = parseRequestAttributes('GET', '/api/v1/namespaces/a/configmaps?watch=true');
  streams.allowed(request('a1'), allow('alice'), watch, NOW);
  streams.allowed(request('a2'), allow('alice'), parseRequestAttributes('POST', '/api/v1/namespaces/a/pods/web/exec'), NOW);
  streams.allowed(request('b1'), allow('bob'), watch, NOW);
  expect(streams.revalidate(access, NOW).usersToDrain.size).toBe(0);

  access.applyStoreState(state([user('alice', []), user('bob', ['dev'])], policy(), 2));
  const { usersToDrain } = streams.revalidate(access, NOW);
  expect([...usersToDrain]).toEqual(['alice']);
  expect(streams.size).toBe(1);
});

test('a narrower policy drains the users whose open stream it no longer allows', () => {
  streams.allowed(request('a1'), allow('alice'), parseRequestAttributes('POST', '/api/v1/namespaces/a/pods/web/exec'), NOW);
  streams.allowed(request('b1'), allow('bob'), parseRequestAttributes('GET', '/api/v1/namespaces/a/configmaps?watch=true'), NOW);
  const noExec = policy().replace('resources: [configmaps, pods, pods/exec, pods/log]', 'resources: [configmaps, pods, pods/log]');
  access.applyStoreState(state([user('alice', ['dev']), user('bob', ['dev'])], noExec, 2));
  expect([...streams.revalidate(access, NOW).usersToDrain]).toEqual(['alice']);
});

test('a disabled user, a deleted user and an unregistered cluster drain too', () => {
  const watch = parseRequestAttributes('GET', '/api/v1/namespaces/a/configmaps?watch=true');
  streams.allowed(request('a1'), allow('alice'), watch, NOW);
  streams.allowed(request('b1'), allow('bob'), watch, NOW);
  access.applyStoreState(state([{ ...user('alice', ['dev']), disabled: true }], policy(), 2));
  expect([...streams.revalidate(access, NOW).usersToDrain].sort()).toEqual(['alice', 'bob']);

  streams.allowed(request('c1'), allow('alice'), watch, NOW);
  access.applyStoreState(state([user('alice', ['dev'])], policy(), 3));
  access.setClusters([]);
  expect([...streams.revalidate(access, NOW).usersToDrain]).toEqual(['alice']);
});

test('the next check is when the earliest still-allowed stream could stop being allowed', () => {
  const closes = NOW + 60_000;
  const windowed = policy(`  validity: {notAfter: ${new Date(closes).toISOString()}}\n`);
  access.applyStoreState(state([user('alice', ['dev'])], windowed, 2));
  streams.allowed(request('a1'), allow('alice'), parseRequestAttributes('GET', '/api/v1/namespaces/a/configmaps?watch=true'), NOW);
  const first = streams.revalidate(access, NOW);
  expect(first.usersToDrain.size).toBe(0);
  expect(first.nextCheckAt).toBe(closes);
  expect([...streams.revalidate(access, closes).usersToDrain]).toEqual(['alice']);
});

test('streams older than the maximum age are forgotten, and the number tracked is bounded', () => {
  const bounded = new OpenStreams({ maxStreams: 2, maxAgeMs: 1000 });
  const watch = parseRequestAttributes('GET', '/api/v1/namespaces/a/configmaps?watch=true');
  bounded.allowed(request('1'), allow('alice'), watch, NOW);
  bounded.allowed(request('2'), allow('alice'), watch, NOW);
  bounded.allowed(request('3'), allow('alice'), watch, NOW);
  expect(bounded.size).toBe(2);
  bounded.revalidate(access, NOW + 5000);
  expect(bounded.size).toBe(0);
});

test('a stream forgotten to make room is counted and reported, never silently; the same request again takes no room', () => {
  const totals: number[] = [];
  const bounded = new OpenStreams({ maxStreams: 2, evicted: (total) => totals.push(total) });
  const watch = parseRequestAttributes('GET', '/api/v1/namespaces/a/configmaps?watch=true');
  bounded.allowed(request('1'), allow('alice'), watch, NOW);
  bounded.allowed(request('2'), allow('bob'), watch, NOW);
  bounded.allowed(request('2'), allow('bob'), watch, NOW);
  expect(bounded.evicted).toBe(0);
  bounded.allowed(request('3'), allow('bob'), watch, NOW);
  bounded.allowed(request('4'), allow('bob'), watch, NOW);
  expect(bounded.size).toBe(2);
  expect(bounded.evicted).toBe(2);
  expect(totals).toEqual([1, 2]);
  // alice's stream was the one forgotten: losing access no longer finds it.
  access.applyStoreState(state([user('alice', []), user('bob', ['dev'])], policy(), 2));
  expect([...bounded.revalidate(access, NOW).usersToDrain]).toEqual([]);
});
