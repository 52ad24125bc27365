import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  formatPolicyDuration,
  loadPolicies,
  parsePolicyDuration,
  parsePolicyFile,
  parseRfc3339,
  PolicyValidationError,
  validatePolicies,
  type AccessPolicy,
  type ClusterSettings,
} from '../../policies/src';
import { formatPath } from '../../policies/src/decode-context';
import { closestMatch, editDistance } from '../../policies/src/did-you-mean';
import { timeZoneProblem } from '../../policies/src/time-zone';

const policy = (name: string, extra = '') => `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: ${name}
spec:
  subjects: {groups: [payments-engineers]}
  clusters: {names: [prod-eu-1]}
  clusterRoles: [{name: view}]
${extra}`;

function errorsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (e) {
    if (e instanceof PolicyValidationError) return e.errors.map((x) => `${x.file}:${x.line}:${x.column} ${x.code} ${x.message}`);
    throw e;
  }
  return [];
}

describe('parsePolicyDuration', () => {
  test.each([
    ['30s', 30_000],
    ['30m', 1_800_000],
    ['8h', 28_800_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['1d2h3m4s', 93_784_000],
    ['90m', 5_400_000],
  ])('%s is %d ms', (text, ms) => expect(parsePolicyDuration(text)).toBe(ms));

  test.each(['', '0m', '0h0m', '1.5h', '30m1h', '1h1h', '250ms', '8 h', ' 8h', 'h', '8', '-1h', '1w', '1H'])('refuses %j', (text) => {
    expect(parsePolicyDuration(text)).toBeUndefined();
  });

  test.each([1000, 60_000, 5_400_000, 86_400_000, 93_784_000])('formats %d ms so that it parses back', (ms) => {
    expect(parsePolicyDuration(formatPolicyDuration(ms))).toBe(ms);
  });
});

describe('parseRfc3339', () => {
  test.each([
    ['2025-03-01T08:00:00Z', '2025-03-01T08:00:00.000Z'],
    ['2025-03-01t08:00:00z', '2025-03-01T08:00:00.000Z'],
    ['2025-03-01T09:00:00+01:00', '2025-03-01T08:00:00.000Z'],
    ['2025-03-01T02:30:00-05:30', '2025-03-01T08:00:00.000Z'],
    ['2025-03-01T08:00:00.250Z', '2025-03-01T08:00:00.250Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('%s', (text, iso) => {
    const parsed = parseRfc3339(text);
    expect('epochMs' in parsed && new Date(parsed.epochMs).toISOString()).toBe(iso);
  });

  test.each([
    ['2025-03-01', /has no time/],
    ['2025-03-01T08:00:00', /has no UTC offset/],
    ['2025-03-01 08:00', /has no UTC offset/],
    ['2025-02-29T00:00:00Z', /not a real date/],
    ['2025-13-01T00:00:00Z', /not a real date/],
    ['2025-03-01T24:00:00Z', /not a real date/],
    ['2025-03-01T08:00:00+25:00', /not a real date/],
    ['March 1st', /not an RFC 3339 timestamp/],
  ])('refuses %s', (text, problem) => {
    const parsed = parseRfc3339(text);
    expect('problem' in parsed && parsed.problem).toMatch(problem);
  });
});

describe('time zones', () => {
  test.each(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Etc/GMT+1'])('accepts %s', (zone) => {
    expect(timeZoneProblem(zone)).toBeUndefined();
  });
  test.each([
    ['Europe/Berln', /not an IANA time zone; did you mean "Europe\/Berlin"/],
    ['Mars/Olympus_Mons', /not an IANA time zone; write a name/],
    ['EST', /abbreviation/],
    ['CET', /abbreviation/],
    ['utc', /did you mean "UTC"/],
    ['europe/berlin', /did you mean "Europe\/Berlin"/],
    ['+01:00', /not an IANA time zone/],
  ])('refuses %s', (zone, problem) => expect(timeZoneProblem(zone)).toMatch(problem));
});

describe('did you mean', () => {
  test('an adjacent swap is one edit', () => expect(editDistance('lsit', 'list')).toBe(1));
  test.each([
    ['lsit', ['get', 'list', 'watch'], 'list'],
    ['verb', ['verbs', 'resources'], 'verbs'],
    ['Monday', ['Mon', 'Tue'], 'Mon'],
    ['console', ['kubectl', 'console-only', 'disabled'], 'console-only'],
    ['TIMEZONE', ['timeZone', 'start'], 'timeZone'],
    ['zzzzzz', ['get', 'list'], undefined],
    ['list', ['get', 'list'], undefined],
  ])('%s among %j is %s', (input, candidates, match) => expect(closestMatch(input, candidates)).toBe(match));
});

describe('formatPath', () => {
  test('fields, indexes and label keys', () => {
    expect(formatPath(['spec', 'rules', 1, 'verbs', 0])).toBe('spec.rules[1].verbs[0]');
    expect(formatPath(['spec', 'clusters', 'selector', 'matchLabels', 'topology.kubernetes.io/region'])).toBe(
      'spec.clusters.selector.matchLabels["topology.kubernetes.io/region"]',
    );
  });
});

describe('parsePolicyFile', () => {
  test('files with no documents, empty documents and comments are fine', () => {
    expect(parsePolicyFile('', 'empty.yaml')).toEqual([]);
    expect(parsePolicyFile('# nothing yet\n', 'comment.yaml')).toEqual([]);
    expect(parsePolicyFile(`---\n---\n${policy('one')}---\n`, 'sparse.yaml').map((d) => d.metadata.name)).toEqual(['one']);
  });

  test('each document records where it starts', () => {
    const docs = parsePolicyFile(`# header\n${policy('a')}---\n\n${policy('b')}`, 'two.yaml');
    expect(docs.map((d) => d.source)).toEqual([
      { file: 'two.yaml', line: 2, column: 1 },
      { file: 'two.yaml', line: 12, column: 1 },
    ]);
  });

  test('plain YAML 1.2 scalars: unquoted times and timestamps stay strings, yes/no are not booleans', () => {
    const [doc] = parsePolicyFile(
      policy('times', '  validity:\n    notBefore: 2025-01-01T00:00:00Z\n    windows: [{days: [Mon], start: 08:00, end: 18:30, timeZone: UTC}]\n'),
      't.yaml',
    ) as AccessPolicy[];
    expect(doc!.spec.validity?.windows?.[0]?.start).toEqual({ text: '08:00', minutes: 480 });
    expect(doc!.spec.validity?.notBefore?.epochMs).toBe(Date.UTC(2025, 0, 1));
    expect(errorsOf(() => parsePolicyFile(policy('x', '  accessMode: yes\n'), 'y.yaml'))).toEqual([
      'y.yaml:9:15 ERR_POLICY_BAD_VALUE unknown access mode "yes" at spec.accessMode; allowed: kubectl, console-only, disabled',
    ]);
  });

  test('windows may run past midnight or cover the whole day', () => {
    const [doc] = parsePolicyFile(
      policy(
        'night',
        '  validity:\n    windows:\n      - {days: [Fri], start: "22:00", end: "06:00", timeZone: Europe/Berlin}\n      - {days: [Sat, Sun], start: "00:00", end: "24:00", timeZone: Europe/Berlin}\n',
      ),
      'n.yaml',
    ) as AccessPolicy[];
    expect(doc!.spec.validity?.windows?.map((w) => [w.start.minutes, w.end.minutes])).toEqual([
      [1320, 360],
      [0, 1440],
    ]);
  });

  test('resource and non-resource rules decode to their own shapes', () => {
    const [doc] = parsePolicyFile(
      policy('rules', '  rules:\n    - {apiGroups: [""], resources: [pods], verbs: [get], resourceNames: [a]}\n    - {nonResourceURLs: [/healthz/*], verbs: [get, head]}\n'),
      'r.yaml',
    ) as AccessPolicy[];
    expect(doc!.spec.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['a'] },
      { nonResourceURLs: ['/healthz/*'], verbs: ['get', 'head'] },
    ]);
  });

  test('accessMode disabled needs nothing to grant', () => {
    const text = `apiVersion: kubegate.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: deny}\nspec:\n  subjects: {users: [mallory@example.com]}\n  clusters: {all: true}\n  accessMode: disabled\n  validity: {notAfter: 2030-01-01T00:00:00Z}\n`;
    expect((parsePolicyFile(text, 'd.yaml')[0] as AccessPolicy).spec.accessMode).toBe('disabled');
  });
});

describe('validatePolicies and loadPolicies', () => {
  test('duplicates across files point at both places', () => {
    expect(
      errorsOf(() =>
        loadPolicies([
          { fileName: 'teams/a.yaml', text: policy('shared') },
          { fileName: 'teams/b.yaml', text: `# copy\n${policy('shared')}` },
        ]),
      ),
    ).toEqual([
      'teams/b.yaml:5:9 ERR_POLICY_DUPLICATE AccessPolicy "shared" is already defined at teams/a.yaml:4:9: names are unique per kind; rename or merge one of them',
    ]);
  });

  test('the same name in different kinds is fine', () => {
    const settings = `apiVersion: kubegate.dev/v1alpha1\nkind: ClusterSettings\nmetadata: {name: shared}\nspec: {clusters: {names: [prod-eu-1]}, kubectl: disabled}\n`;
    expect(loadPolicies([{ fileName: 'a.yaml', text: `${policy('shared')}---\n${settings}` }])).toHaveLength(2);
  });

  test('loadPolicies reports the errors of every file and the cross-document errors together', () => {
    const errors = errorsOf(() =>
      loadPolicies([
        { fileName: 'a.yaml', text: policy('p') },
        { fileName: 'b.yaml', text: policy('p', '  accessMode: sometimes\n') },
        { fileName: 'c.yaml', text: policy('p') },
      ]),
    );
    expect(errors.map((e) => e.split(' ').slice(0, 2).join(' '))).toEqual(['b.yaml:9:15 ERR_POLICY_BAD_VALUE', 'c.yaml:4:9 ERR_POLICY_DUPLICATE']);
  });

  test('two ClusterSettings for all clusters conflict', () => {
    const all = (name: string) => `apiVersion: kubegate.dev/v1alpha1\nkind: ClusterSettings\nmetadata: {name: ${name}}\nspec:\n  clusters: {all: true}\n  kubectl: disabled\n`;
    expect(errorsOf(() => loadPolicies([{ fileName: 'g.yaml', text: `${all('one')}---\n${all('two')}` }]))).toEqual([
      'g.yaml:12:19 ERR_POLICY_CONFLICT ClusterSettings "one" at g.yaml:5:19 already applies to all clusters: keep one ClusterSettings with all: true',
    ]);
  });

  test('documents built in code (not read from a file) are located by their source', () => {
    const doc = (name: string, line: number): ClusterSettings => ({
      apiVersion: 'kubegate.dev/v1alpha1',
      kind: 'ClusterSettings',
      metadata: { name },
      spec: { clusters: { names: ['prod-eu-1'] }, kubectl: 'disabled' },
      source: { file: 'api', line, column: 1 },
    });
    expect(errorsOf(() => validatePolicies([doc('x', 1), doc('x', 2)]))).toEqual([
      'api:2:1 ERR_POLICY_DUPLICATE ClusterSettings "x" is already defined at api:1:1: names are unique per kind; rename or merge one of them',
      'api:2:1 ERR_POLICY_CONFLICT cluster "prod-eu-1" is also named by ClusterSettings "x" at api:1:1: name each cluster in one ClusterSettings, so its switches are in one place',
    ]);
  });
});

describe('robustness', () => {
  // Every line of every example deleted, or re-indented, in turn: the parser must answer with a
  // PolicyValidationError or documents, never crash.
  const examples = path.join(__dirname, '../../policies/examples');
  const texts = fs.readdirSync(examples).map((f) => fs.readFileSync(path.join(examples, f), 'utf8'));
  test('mangled examples never crash the parser', () => {
    let variants = 0;
    for (const text of texts) {
      const lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        for (const mangled of [lines.filter((_, j) => j !== i), lines.map((l, j) => (j === i ? ` ${l}` : l)), lines.map((l, j) => (j === i ? l.replace(/:.*/, ': [') : l))]) {
          variants++;
          try {
            validatePolicies(parsePolicyFile(mangled.join('\n'), 'm.yaml'));
          } catch (e) {
            if (!(e instanceof PolicyValidationError)) throw e;
            for (const err of e.errors) {
              expect(err.line).toBeGreaterThanOrEqual(1);
              expect(err.column).toBeGreaterThanOrEqual(1);
            }
          }
        }
      }
    }
    expect(variants).toBeGreaterThan(300);
  });
});
