import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  loadPolicies,
  parsePolicyFile,
  POLICY_ERROR_CODES,
  PolicyError,
  PolicyUnknownVerbError,
  PolicyValidationError,
  PolicyYamlSyntaxError,
  validatePolicies,
} from '../../policies/src';

const FIXTURES = path.join(__dirname, 'fixtures');
const fixtureName = (name: string) => `test/policies/fixtures/${name}`;
const fixtureText = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

function failure(run: () => unknown): PolicyValidationError {
  try {
    run();
  } catch (e) {
    if (e instanceof PolicyValidationError) return e;
    throw e;
  }
  throw new Error('expected a PolicyValidationError');
}

/** Exactly what `kubegate policy validate` prints for each bad fixture, without the file name. */
const EXPECTED: Record<string, readonly string[]> = {
  'bad-api-version.yaml': [
    `1:13: ERR_POLICY_BAD_API_VERSION apiVersion "kubegate.dev/v1" is not supported: write apiVersion: kubegate.dev/v1alpha1`,
  ],
  'bad-duration.yaml': [
    `9:16: ERR_POLICY_BAD_DURATION duration 48h at spec.maxDuration is too long: it must be from 1m to 24h; break-glass is for emergencies; standing access belongs in an AccessPolicy`,
    `21:13: ERR_POLICY_BAD_DURATION invalid duration "90 minutes" at spec.requireActiveSession.within: write whole numbers with units d, h, m, s, largest first, e.g. 30m, 8h, 1h30m, 7d`,
    `31:34: ERR_POLICY_BAD_DURATION duration "0m" at spec.requireActiveSession.within is zero: it must be from 1m to 24h`,
    `39:30: ERR_POLICY_BAD_DURATION duration 59s at spec.serviceAccountIdleTimeout is too short: it must be from 1m to 30d`,
    `47:30: ERR_POLICY_BAD_DURATION duration 30d1s at spec.serviceAccountIdleTimeout is too long: it must be from 1m to 30d; a ServiceAccount unused for longer is standing access nobody needs, and the user's next request creates it again anyway`,
    `55:30: ERR_POLICY_BAD_DURATION duration "0h" at spec.serviceAccountIdleTimeout is zero: it must be from 1m to 30d`,
    `63:30: ERR_POLICY_BAD_DURATION invalid duration "8 hours" at spec.serviceAccountIdleTimeout: write whole numbers with units d, h, m, s, largest first, e.g. 30m, 8h, 1h30m, 7d`,
  ],
  'bad-name.yaml': [
    `4:9: ERR_POLICY_BAD_NAME invalid name "Payments_ReadOnly" at metadata.name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters; did you mean "payments-readonly"?`,
    `7:13: ERR_POLICY_BAD_NAME invalid user name "system:admin" at spec.subjects.users[0]: names starting with "system:" are reserved by Kubernetes and are never kubegate identities`,
    `7:29: ERR_POLICY_BAD_NAME invalid user name "*" at spec.subjects.users[1]: there is no wildcard user: name users, or use a group that everyone concerned belongs to`,
    `9:13: ERR_POLICY_BAD_NAME invalid cluster name "Prod-EU-1" at spec.clusters.names[0]: cluster names are DNS labels: lowercase letters, digits and '-', at most 63 characters; did you mean "prod-eu-1"?`,
    `11:13: ERR_POLICY_BAD_NAME invalid ClusterRole name "cluster admin" at spec.clusterRoles[0].name: a ClusterRole name has letters, digits, '-', '.', '_' and ':', starts and ends with a letter or digit, at most 253 characters`,
    `13:20: ERR_POLICY_BAD_NAME invalid namespace "Payments" at spec.clusterRoles[1].namespaces[0]: namespaces are DNS labels: lowercase letters, digits and '-', at most 63 characters; did you mean "payments"?`,
    `13:30: ERR_POLICY_BAD_NAME invalid namespace "*" at spec.clusterRoles[1].namespaces[1]: namespaces are exact names; leave out namespaces to cover every namespace and cluster-scoped resources`,
  ],
  'bad-rule.yaml': [
    `9:19: ERR_POLICY_BAD_RULE invalid API group "apps/v1" at spec.rules[0].apiGroups[0]: API groups are written without a version; did you mean "apps"?`,
    `9:28: ERR_POLICY_BAD_RULE invalid API group "core" at spec.rules[0].apiGroups[1]: the core API group is written "" (an empty string): apiGroups: [""]`,
    `10:19: ERR_POLICY_BAD_RULE invalid resource "pod" at spec.rules[0].resources[0]: resources are plural, as kubectl api-resources lists them; did you mean "pods"?`,
    `10:24: ERR_POLICY_BAD_RULE invalid resource "deployments.apps" at spec.rules[0].resources[1]: a resource is named without its API group: write resources: [deployments] with apiGroups: [apps]`,
    `10:42: ERR_POLICY_BAD_RULE invalid resource "Services" at spec.rules[0].resources[2]: resources are lowercase, as kubectl api-resources lists them; did you mean "services"?`,
    `14:23: ERR_POLICY_BAD_RULE invalid resource name "app-*" at spec.rules[1].resourceNames[0]: resourceNames are exact object names without wildcards; leave resourceNames out to allow every name`,
    `18:15: ERR_POLICY_BAD_RULE verb "impersonate" at spec.rules[2].verbs[0]: impersonate cannot be granted through kubegate: the edge removes Impersonate-* headers and impersonates the user itself`,
    `19:25: ERR_POLICY_BAD_RULE invalid non-resource URL "healthz" at spec.rules[3].nonResourceURLs[0]: a path starts with '/', e.g. /healthz`,
    `19:34: ERR_POLICY_BAD_RULE invalid non-resource URL "https://api.example.com/version" at spec.rules[3].nonResourceURLs[1]: write only the path, e.g. /healthz`,
  ],
  'bad-selector.yaml': [
    `8:5: ERR_POLICY_BAD_SELECTOR spec.clusters.selector is empty and would match every cluster: add matchLabels or matchExpressions, or write clusters: {all: true} if every cluster is meant`,
    `19:21: ERR_POLICY_BAD_SELECTOR invalid label key "env/" at spec.clusters.selector.matchLabels["env/"]: a label key is an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric (e.g. env, kubegate.dev/tier)`,
    `21:35: ERR_POLICY_BAD_SELECTOR unknown selector operator "in" at spec.clusters.selector.matchExpressions[0].operator; did you mean "In"? allowed: In, NotIn, Exists, DoesNotExist`,
    `22:35: ERR_POLICY_BAD_SELECTOR operator In at spec.clusters.selector.matchExpressions[1].operator needs values: add values: [...]`,
    `23:41: ERR_POLICY_BAD_SELECTOR operator Exists at spec.clusters.selector.matchExpressions[2].operator takes no values: remove values, or use In / NotIn`,
    `33:5: ERR_POLICY_BAD_SELECTOR spec.clusters.selector has only NotIn/DoesNotExist terms, so it grants access on every cluster without that label, including clusters registered later: add matchLabels or an In/Exists term`,
  ],
  'bad-time.yaml': [
    `11:16: ERR_POLICY_BAD_TIME invalid timestamp "2025-07-01" at spec.validity.notBefore: it has no time: write 2025-07-01T00:00:00Z (or another time and offset)`,
    `12:15: ERR_POLICY_BAD_TIME invalid timestamp "2025-12-31T18:00:00" at spec.validity.notAfter: it has no UTC offset: add Z for UTC or an offset such as +01:00, e.g. 2025-03-01T08:00:00Z`,
    `15:16: ERR_POLICY_BAD_TIME invalid time "8:00" at spec.validity.windows[0].start: write HH:MM on a 24-hour clock, e.g. 08:00 or 17:30; did you mean "08:00"?`,
    `16:14: ERR_POLICY_BAD_TIME invalid time "25:00" at spec.validity.windows[0].end: write HH:MM on a 24-hour clock, e.g. 08:00 or 17:30`,
    `19:16: ERR_POLICY_BAD_TIME invalid time "24:00" at spec.validity.windows[1].start: write HH:MM on a 24-hour clock, e.g. 08:00 or 17:30; 24:00 is only allowed as an end`,
    `32:15: ERR_POLICY_BAD_TIME invalid timestamp "2025-02-30T00:00:00Z" at spec.validity.notAfter: it is not a real date and time (check month, day, hour, minute, second and offset)`,
  ],
  'bad-timezone.yaml': [
    `11:63: ERR_POLICY_BAD_TIMEZONE invalid time zone "Europe/Berln" at spec.validity.windows[0].timeZone: it is not an IANA time zone; did you mean "Europe/Berlin"? write a name such as Europe/Berlin, America/New_York or UTC`,
    `12:63: ERR_POLICY_BAD_TIMEZONE invalid time zone "EST" at spec.validity.windows[1].timeZone: it is an abbreviation, not a zone: write an Area/Location name such as Europe/Berlin or America/New_York, or UTC`,
    `13:63: ERR_POLICY_BAD_TIMEZONE invalid time zone "europe/berlin" at spec.validity.windows[2].timeZone: it is not spelled as the IANA database spells it; did you mean "Europe/Berlin"?`,
    `14:63: ERR_POLICY_BAD_TIMEZONE invalid time zone "+01:00" at spec.validity.windows[3].timeZone: it is not an IANA time zone; write a name such as Europe/Berlin, America/New_York or UTC`,
  ],
  'bad-type.yaml': [
    `6:14: ERR_POLICY_BAD_TYPE metadata.labels.version must be a string, got a number (1.2); quote it: "1.2"`,
    `9:5: ERR_POLICY_BAD_TYPE spec.subjects must be a mapping with users and/or groups, got a list; write {users: [alice@example.com], groups: [payments-engineers]}`,
    `15:14: ERR_POLICY_BAD_TYPE spec.rules[0].verbs must be a list of verbs, got a string ("patch"); write it as a list: [patch]`,
    `16:3: ERR_POLICY_BAD_TYPE spec.maxDuration has no value: it must be a duration such as 30m, 8h or 1h30m (from 1m to 24h)`,
    `18:15: ERR_POLICY_BAD_TYPE spec.approval.required must be true or false, got a string ("yes")`,
    `27:30: ERR_POLICY_BAD_TYPE spec.serviceAccountIdleTimeout must be a duration such as 30m, 8h or 1h30m (from 1m to 30d), got a number (8); quote it: "8"`,
  ],
  'bad-value.yaml': [
    `6:51: ERR_POLICY_BAD_VALUE spec.subjects.users is an empty list: list at least one user`,
    `7:19: ERR_POLICY_BAD_VALUE spec.clusters.all: false has no meaning here: remove "all", or set it to true for every cluster`,
    `8:15: ERR_POLICY_BAD_VALUE unknown access mode "consoleonly" at spec.accessMode; did you mean "console-only"? allowed: kubectl, console-only, disabled`,
    `23:19: ERR_POLICY_BAD_VALUE spec.approval.minApprovals is 0: it must be a whole number from 1 to 10`,
    `24:18: ERR_POLICY_BAD_VALUE unknown justification setting "mandatory" at spec.justification; allowed: required, optional`,
  ],
  'conflict.yaml': [
    `9:3: ERR_POLICY_CONFLICT spec.clusterRoles conflicts with accessMode: disabled, which denies these subjects on these clusters: remove clusterRoles, or choose another accessMode`,
    `10:3: ERR_POLICY_CONFLICT spec.requireActiveSession conflicts with accessMode: disabled, which denies these subjects on these clusters: remove requireActiveSession, or choose another accessMode`,
    `20:5: ERR_POLICY_CONFLICT spec.clusters.names conflicts with all: true, which already covers every cluster: remove one of them`,
    `25:7: ERR_POLICY_CONFLICT rule spec.rules[0] has both resources and nonResourceURLs: a rule grants either API resources or non-resource paths; split it into two rules`,
    `29:20: ERR_POLICY_CONFLICT "*" in spec.rules[1].verbs already means every verb: write only ["*"], or list the verbs without "*"`,
    `32:7: ERR_POLICY_CONFLICT resourceNames at spec.rules[2].resourceNames cannot restrict create: Kubernetes authorizes create before any object name is known; move create into a rule without resourceNames`,
    `34:3: ERR_POLICY_CONFLICT requireActiveSession at spec.requireActiveSession has no effect with accessMode: console-only (it only gates kubectl): remove one of them`,
    `37:15: ERR_POLICY_CONFLICT notAfter 2025-05-01T00:00:00Z at spec.validity.notAfter is not after notBefore 2025-06-01T00:00:00Z: the document would never be in force`,
    `39:44: ERR_POLICY_CONFLICT window spec.validity.windows[0] starts and ends at 09:00, so it is never open: for the whole day write start: "00:00" and end: "24:00"`,
    `53:19: ERR_POLICY_CONFLICT "alice@example.com" may request but could never be approved: requesters do not approve their own requests, so 1 other approver is left for the 2 approvals needed; add approvers or an approver group`,
    `66:5: ERR_POLICY_CONFLICT spec.approval.approvers conflicts with required: false: remove approvers, or set required: true`,
  ],
  'duplicate.yaml': [
    `21:9: ERR_POLICY_DUPLICATE ClusterSettings "prod-eu-1" is already defined at test/policies/fixtures/duplicate.yaml:4:9: names are unique per kind; rename or merge one of them`,
    `31:33: ERR_POLICY_CONFLICT cluster "prod-eu-1" is also named by ClusterSettings "prod-eu-1" at test/policies/fixtures/duplicate.yaml:6:22: name each cluster in one ClusterSettings, so its switches are in one place`,
  ],
  'many-errors.yaml': [
    `12:15: ERR_POLICY_BAD_VALUE unknown access mode "console" at spec.accessMode; did you mean "console-only"? allowed: kubectl, console-only, disabled`,
    `15:25: ERR_POLICY_BAD_RULE invalid resource "pod/log" at spec.rules[0].resources[1]: resources are plural, as kubectl api-resources lists them; did you mean "pods/log"?`,
    `16:20: ERR_POLICY_UNKNOWN_VERB unknown verb "lsit" at spec.rules[0].verbs[1]; did you mean "list"? allowed: get, list, watch, create, update, patch, delete, deletecollection, bind, escalate, approve, sign, use, *`,
    `20:15: ERR_POLICY_BAD_TIME invalid timestamp "2025-12-31" at spec.validity.notAfter: it has no time: write 2025-12-31T00:00:00Z (or another time and offset)`,
    `25:9: ERR_POLICY_UNKNOWN_FIELD unknown field "timezone" in spec.validity.windows[0]; did you mean "timeZone"? fields here: days, start, end, timeZone`,
  ],
  'missing-field.yaml': [
    `5:1: ERR_POLICY_MISSING_FIELD missing required field "subjects" in spec: say who the policy is for, e.g. subjects: {groups: [payments-engineers]}`,
    `5:1: ERR_POLICY_MISSING_FIELD spec grants nothing: add rules, clusterRoles or both (or set accessMode: disabled to deny these subjects)`,
    `14:3: ERR_POLICY_MISSING_FIELD spec.subjects names nobody: add users, groups or both`,
    `17:7: ERR_POLICY_MISSING_FIELD missing required field "apiGroups" in spec.rules[0]: write apiGroups: [""] for core resources such as pods, or the group of the resources, such as apps`,
    `19:7: ERR_POLICY_MISSING_FIELD missing required field "verbs" in spec.rules[1]: e.g. verbs: [get, list, watch]`,
    `32:15: ERR_POLICY_MISSING_FIELD spec.approval is required but names no approvers: add approvers, e.g. approvers: {groups: [sre-leads]}`,
    `38:1: ERR_POLICY_MISSING_FIELD spec sets nothing: add kubectl: disabled, defaultAccessMode and/or serviceAccountIdleTimeout`,
  ],
  'unknown-field.yaml': [
    `5:3: ERR_POLICY_UNKNOWN_FIELD unknown field "annotations" in metadata; fields here: name, labels`,
    `14:7: ERR_POLICY_UNKNOWN_FIELD unknown field "verb" in spec.rules[0]; did you mean "verbs"? fields here: apiGroups, resources, verbs, namespaces, resourceNames, nonResourceURLs`,
    `16:3: ERR_POLICY_UNKNOWN_FIELD unknown field "requireActiveSesion" in spec; did you mean "requireActiveSession"? fields here: description, subjects, clusters, accessMode, rules, clusterRoles, requireActiveSession, validity`,
    `18:1: ERR_POLICY_UNKNOWN_FIELD unknown field "status" in the document; policies have no status, remove it`,
  ],
  'unknown-kind.yaml': [
    `2:7: ERR_POLICY_UNKNOWN_KIND unknown kind "AccesPolicy"; did you mean "AccessPolicy"? kinds: AccessPolicy, ClusterSettings, BreakGlassPolicy`,
    `9:7: ERR_POLICY_UNKNOWN_KIND kind "Group" is not a policy kind: group membership comes from the identity (certificate groups, identity-provider claims), not from policy files; name groups in subjects.groups`,
  ],
  'unknown-verb.yaml': [
    `11:20: ERR_POLICY_UNKNOWN_VERB unknown verb "lsit" at spec.rules[0].verbs[1]; did you mean "list"? allowed: get, list, watch, create, update, patch, delete, deletecollection, bind, escalate, approve, sign, use, *`,
    `11:26: ERR_POLICY_UNKNOWN_VERB unknown verb "exec" at spec.rules[0].verbs[2]: exec is the subresource pods/exec: grant resources: [pods/exec] with verbs: [create, get]`,
    `13:15: ERR_POLICY_UNKNOWN_VERB unknown verb "list" for nonResourceURLs at spec.rules[1].verbs[0]; allowed: get, head, options, post, put, patch, delete, *`,
  ],
  'yaml-alias-and-tag.yaml': [
    `8:25: ERR_POLICY_YAML_SYNTAX YAML tag !role is not allowed in policy files: remove it`,
    `15:13: ERR_POLICY_YAML_SYNTAX alias *readers is not allowed in policy files: write the value out in full, so that what reviewers read is what applies`,
  ],
  'yaml-syntax.yaml': [
    `8:3: ERR_POLICY_YAML_SYNTAX flow map in block collection must be sufficiently indented and end with a }`,
    `15:3: ERR_POLICY_YAML_SYNTAX duplicate key "name": a key may appear once per mapping; remove or merge one of them`,
  ],
};

describe('bad policy files', () => {
  test('every fixture has its expected errors listed', () => {
    expect(fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml')).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  test.each(Object.keys(EXPECTED))('%s: every error, with file, line, column, code and message', (name) => {
    const error = failure(() => loadPolicies([{ fileName: fixtureName(name), text: fixtureText(name) }]));
    expect(error.format().split('\n')).toEqual(EXPECTED[name]!.map((line) => `${fixtureName(name)}:${line}`));
  });

  test('every error code is produced by at least one fixture', () => {
    const produced = new Set(Object.values(EXPECTED).flatMap((lines) => lines.map((l) => /^\d+:\d+: (ERR_POLICY_[A-Z_]+) /.exec(l)![1]!)));
    expect([...POLICY_ERROR_CODES].filter((code) => !produced.has(code))).toEqual([]);
    expect([...produced].filter((code) => !(POLICY_ERROR_CODES as readonly string[]).includes(code))).toEqual([]);
  });

  test('each error is an instance of its class, with a stable code and structured location', () => {
    const error = failure(() => parsePolicyFile(fixtureText('unknown-verb.yaml'), 'unknown-verb.yaml'));
    const first = error.errors[0]!;
    expect(first).toBeInstanceOf(PolicyUnknownVerbError);
    expect(first).toBeInstanceOf(PolicyError);
    expect(first).toBeInstanceOf(Error);
    expect(first).toMatchObject({
      name: 'PolicyUnknownVerbError',
      code: 'ERR_POLICY_UNKNOWN_VERB',
      file: 'unknown-verb.yaml',
      line: 11,
      column: 20,
      path: 'spec.rules[0].verbs[1]',
    });
    expect(first.message).toBe(
      'unknown verb "lsit" at spec.rules[0].verbs[1]; did you mean "list"? allowed: get, list, watch, create, update, patch, delete, deletecollection, bind, escalate, approve, sign, use, *',
    );
    expect(PolicyUnknownVerbError.code).toBe('ERR_POLICY_UNKNOWN_VERB');
    expect(error.code).toBe('ERR_POLICY_INVALID');
  });

  test('a YAML syntax error names its line, and the other documents of the file are still checked', () => {
    const error = failure(() => parsePolicyFile(fixtureText('yaml-syntax.yaml'), 'yaml-syntax.yaml'));
    expect(error.errors.map((e) => [e.constructor, e.line])).toEqual([
      [PolicyYamlSyntaxError, 8],
      [PolicyYamlSyntaxError, 15],
    ]);
  });

  test('all the mistakes of one file are reported in one run, in file order', () => {
    const error = failure(() => parsePolicyFile(fixtureText('many-errors.yaml'), 'many-errors.yaml'));
    expect(error.errors.map((e) => `${e.line} ${e.code} ${e.path}`)).toEqual([
      '12 ERR_POLICY_BAD_VALUE spec.accessMode',
      '15 ERR_POLICY_BAD_RULE spec.rules[0].resources[1]',
      '16 ERR_POLICY_UNKNOWN_VERB spec.rules[0].verbs[1]',
      '20 ERR_POLICY_BAD_TIME spec.validity.notAfter',
      '25 ERR_POLICY_UNKNOWN_FIELD spec.validity.windows[0].timezone',
    ]);
    expect(error.message).toBe(`5 policy errors in 1 file:\n${error.format()}`);
  });

  test('a file is used whole or not at all: valid documents beside a bad one are not returned', () => {
    const text = `${fs.readFileSync(path.join(__dirname, '../../policies/examples/cluster-kill-switch.yaml'), 'utf8')}\n---\n${fixtureText('bad-api-version.yaml')}`;
    const error = failure(() => parsePolicyFile(text, 'mixed.yaml'));
    expect(error.errors.map((e) => e.code)).toEqual(['ERR_POLICY_BAD_API_VERSION']);
  });

  test('cross-document errors come from validatePolicies, not parsePolicyFile', () => {
    const docs = parsePolicyFile(fixtureText('duplicate.yaml'), 'duplicate.yaml');
    expect(docs).toHaveLength(4);
    const error = failure(() => validatePolicies(docs));
    expect(error.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code} ${e.path}`)).toEqual([
      'duplicate.yaml:21:9 ERR_POLICY_DUPLICATE metadata.name',
      'duplicate.yaml:31:33 ERR_POLICY_CONFLICT spec.clusters.names[1]',
    ]);
  });
});
