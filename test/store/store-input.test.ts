/**
 * What the store refuses before any SQL runs, beyond the contract tests: each value and record
 * checked by its schema, the message naming the field, the first problem in field order.
 */
import {
  normalizeGroups,
  requireBoolean,
  requireBreakGlass,
  requireCluster,
  requireJoinToken,
  requireLabels,
  requireName,
  requirePolicyFiles,
  requireSerial,
  StoreInputError,
} from '../../control-plane/store/store-input';
import type { BreakGlassRecord, ClusterRecord, JoinTokenRecord } from '../../control-plane/store/store';

const breakGlass = { id: 'bg-1', policy: 'p', user: 'alice', cluster: 'prod', justification: '', durationMs: 60_000, requestedAt: 1, approvals: [], state: 'pending' } as Omit<BreakGlassRecord, 'revision'>;
const token = { id: 't', cluster: 'prod', secretHash: 'a'.repeat(64), createdAt: 1, expiresAt: 2, createdBy: 'alice' } as Omit<JoinTokenRecord, 'usedAt'>;
const cluster: ClusterRecord = { name: 'prod', labels: {}, kubernetesVersion: '', apiserverCaPem: '', apiserverHost: '', apiserverPort: 0, agentVersion: '', agentCertificateSerial: '', registeredAt: 0, lastSeenAt: 0 };

test.each([
  ['a name too long', () => requireName('user name', 'a'.repeat(513)), 'user name is longer than 512 characters'],
  ['a name too long and blank-ended: the length first', () => requireName('user name', `${'a'.repeat(513)} `), 'user name is longer than 512 characters'],
  ['a name blank-ended with a control character: the blanks first', () => requireName('user name', 'a\n'), 'user name "a\n" has leading or trailing whitespace'],
  ['a name not a string', () => requireName('user name', 7), 'user name must be a non-empty string'],
  ['a boolean that is not', () => requireBoolean('disabled', 'yes'), 'disabled must be true or false'],
  ['groups not a list', () => normalizeGroups('dev'), 'groups must be an array of group names'],
  ['a serial too long', () => requireSerial('a'.repeat(65)), `certificate serial ${'a'.repeat(65)} is longer than 64 hex digits`],
  ['a serial too long and not hex: not hex first', () => requireSerial('G'.repeat(65)), `certificate serial must be lowercase hex without separators, got "${'G'.repeat(65)}"`],
  ['policy files not a list', () => requirePolicyFiles({}), 'policy files must be an array'],
  ['a policy file that is not an object', () => requirePolicyFiles([null]), 'policy files[0] must be an object'],
  ['a policy file without a name', () => requirePolicyFiles([{ text: '' }]), 'policy files[0].fileName must be a non-empty string'],
  ['a policy file whose text is not', () => requirePolicyFiles([{ fileName: 'a.yaml', text: 3 }]), 'policy file "a.yaml" text must be a string'],
  ['a break-glass record that is not an object', () => requireBreakGlass(null as never), 'break-glass record must be an object'],
  ['a break-glass id missing', () => requireBreakGlass({ ...breakGlass, id: undefined as never }), 'break-glass id must be a non-empty string'],
  ['a negative duration', () => requireBreakGlass({ ...breakGlass, durationMs: -1 }), 'break-glass "bg-1" durationMs must be a non-negative integer, got -1'],
  ['approvals not a list', () => requireBreakGlass({ ...breakGlass, approvals: {} as never }), 'break-glass "bg-1" approvals must be an array'],
  ['an approval that is not an object', () => requireBreakGlass({ ...breakGlass, approvals: [null as never] }), 'break-glass "bg-1" approvals[0] must be an object'],
  ['an approval time that is not', () => requireBreakGlass({ ...breakGlass, approvals: [{ approver: 'carol', at: -1 }] }), 'break-glass "bg-1" approvals[0].at must be a time in epoch milliseconds (a non-negative integer), got -1'],
  ['an optional field malformed', () => requireBreakGlass({ ...breakGlass, endedBy: ' carol' }), 'break-glass "bg-1" endedBy " carol" has leading or trailing whitespace'],
  ['a join token that is not an object', () => requireJoinToken(undefined as never), 'join token must be an object'],
  ['a cluster record that is not an object', () => requireCluster('prod' as never), 'cluster record must be an object'],
  ['a label key that is not a name', () => requireCluster({ ...cluster, labels: { ' env': 'prod' } }), 'cluster "prod" labels key " env" has leading or trailing whitespace'],
  ['labels with an empty key', () => requireLabels('selector', { '': 'x' }), 'selector key must be a non-empty string'],
])('%s is refused', (_what, call, message) => {
  expect(call).toThrow(StoreInputError);
  expect(call).toThrow(message);
  try {
    call();
  } catch (err) {
    expect(err).toMatchObject({ code: 'ERR_STORE_INVALID_INPUT', message });
  }
});

test('records keep only their own fields; labels come back sorted', () => {
  expect(requireBreakGlass({ ...breakGlass, revision: 4 } as never)).toEqual(breakGlass);
  expect(requireJoinToken({ ...token, extra: 1 } as never)).toEqual(token);
  expect(requireCluster({ ...cluster, labels: { b: '2', a: '1' } })).toEqual({ ...cluster, labels: { a: '1', b: '2' } });
  expect(Object.keys(requireLabels('labels', { z: '', a: '' }))).toEqual(['a', 'z']);
});
