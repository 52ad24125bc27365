/**
 * The kubegate CLI against the real admin API: main() in this process with --server and a
 * kubeconfig holding the caller's certificate, output captured. Checks what people and scripts
 * rely on: the printed result, -o json, exit codes (2 usage, 1 refused with the API's message),
 * and how the CLI finds the API and its credentials.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ADMINS_GROUP } from '../../control-plane/api/admins';
import { userServerName } from '../../control-plane/identity/user-identity';
import { writeStackDescriptor } from '../../control-plane/cli/stack-descriptor';
import { ApiHarness, BREAK_GLASS_POLICIES, POLICIES, SUFFIX, runCli } from './api-harness';

let h: ApiHarness;

beforeAll(async () => {
  h = await ApiHarness.start();
  await h.addUser('dana', ['dev']);
  await h.addUser('olive', ['oncall']);
  await h.addUser('lead1', ['sre-leads']);
  await h.addUser('lead2', ['sre-leads']);
});
afterAll(() => h.close());

const json = (stdout: string) => JSON.parse(stdout);

/** Runs `fn` with the working directory (and env changes) set, restoring them after. */
async function within<T>(cwd: string, env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const before = process.cwd();
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  process.chdir(cwd);
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    process.chdir(before);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('usage', () => {
  test('--help lists the commands', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const name of ['kubeconfig', 'user', 'group', 'policy', 'revoke', 'breakglass', 'session', 'cluster', 'whoami', 'audit', 'dev']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${name}\\s+\\S`, 'm'));
    }
    // One name per command: `kubegate cluster list` lists clusters, there is no `clusters`.
    expect(r.stdout).not.toMatch(/^  clusters\s/m);
    const alias = await runCli(['clusters']);
    expect(alias.code).toBe(2);
    expect(alias.stderr).toMatch(/^kubegate: unknown command "clusters"\n/);
  });

  test('a command group lists its subcommands, and each subcommand has --help', async () => {
    const group = await runCli(['user', '--help']);
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/^  set-groups\s+replace a user's groups$/m);
    const sub = await runCli(['user', 'create', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('Usage: kubegate user create NAME [--group G]...');
    expect(sub.stdout).toContain('--server URL');
    for (const args of [['policy', 'apply', '--help'], ['breakglass', 'request', '--help'], ['kubeconfig', '--help'], ['revoke', '--help'], ['session', 'start', '--help']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: kubegate /);
    }
  });

  test.each([
    [['user'], 'kubegate user: a subcommand is required: create, list, show, set-groups, disable, enable, delete; see --help'],
    [['user', 'frob'], 'kubegate user: unknown subcommand "frob"; use one of: create, list, show, set-groups, disable, enable, delete'],
    [['user', 'create'], 'kubegate user: NAME is required; see --help'],
    [['user', 'create', 'a', 'b'], 'kubegate user: unexpected argument "b"; see --help'],
    [['user', 'set-groups', 'dana'], 'kubegate user: give the groups with --group G (repeat for several), or --none to remove every group'],
    [['user', 'list', '-o', 'yaml'], 'kubegate user: -o yaml is not an output format here; use table or json'],
    [['user', 'list', '--colour'], "kubegate user: Unknown option '--colour'; see --help"],
    [['group', 'add-member', 'dev'], 'kubegate group: USER is required; see --help'],
    [['policy', 'validate'], 'kubegate policy: name at least one policy file or directory; see --help'],
    [['policy', 'diff'], 'kubegate policy: PATH is required; see --help'],
    [['policy', 'apply', 'x.yaml', '--expected-revision', 'two'], 'kubegate policy: --expected-revision "two" is not a revision number'],
    [['revoke'], 'kubegate revoke: --user is required'],
    [['breakglass', 'request', '--policy', 'p', '--cluster', 'c'], 'kubegate breakglass: --duration is required; see --help'],
    [['breakglass', 'reject', 'id-1'], 'kubegate breakglass: --reason is required; see --help'],
    [['session', 'stop'], 'kubegate session: ID is required; see --help'],
    [['kubeconfig'], 'kubegate kubeconfig: --user is required'],
  ])('%j is a usage error (exit 2) before anything is contacted', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(message + '\n');
    expect(r.stdout).toBe('');
  });
});

describe('users and groups', () => {
  test('create, list, show, set-groups, disable, enable, delete', async () => {
    const created = await h.cli('root', ['user', 'create', 'alice@example.com', '--group', 'dev', '--group', 'ops']);
    expect(created).toEqual({ code: 0, stdout: 'created user alice@example.com (groups: dev,ops)\n', stderr: '' });

    const table = await h.cli('root', ['user', 'list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+GROUPS\s+STATUS\s+ADMIN\s+CREATED$/);
    expect(lines).toContainEqual(expect.stringMatching(/^alice@example\.com\s+dev,ops\s+enabled\s+no\s+\d{4}-/));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^root\\s+${ADMINS_GROUP}\\s+enabled\\s+yes\\s`)));

    const listed = json((await h.cli('root', ['user', 'list', '-o', 'json'])).stdout);
    expect(listed.users.map((u: { name: string }) => u.name)).toEqual(expect.arrayContaining(['alice@example.com', 'root', 'dana']));

    const setGroups = await h.cli('root', ['user', 'set-groups', 'alice@example.com', '--group', 'payments']);
    expect(setGroups.stdout).toBe('updated user alice@example.com (groups: payments)\n');
    expect((await h.cli('root', ['user', 'set-groups', 'alice@example.com', '--none'])).stdout).toBe('updated user alice@example.com (groups: none)\n');
    expect((await h.cli('root', ['user', 'disable', 'alice@example.com'])).stdout).toBe('disabled user alice@example.com (groups: none, disabled)\n');
    expect(h.access.user('alice@example.com')?.disabled).toBe(true);
    expect((await h.cli('root', ['user', 'enable', 'alice@example.com'])).stdout).toBe('enabled user alice@example.com (groups: none)\n');

    const shown = await h.cli('root', ['user', 'show', 'root']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^name:\s+root$/m);
    expect(shown.stdout).toMatch(/^admin:\s+yes$/m);
    expect(shown.stdout).toMatch(new RegExp(`^${(await h.cert('root')).serial}\\s+valid\\s`, 'm'));
    expect(json((await h.cli('root', ['user', 'show', 'root', '-o', 'json'])).stdout).user.certificates[0].status).toBe('valid');

    expect(await h.cli('root', ['user', 'delete', 'alice@example.com'])).toEqual({ code: 0, stdout: 'deleted user alice@example.com\n', stderr: '' });
    expect(await h.store.getUser('alice@example.com')).toBeUndefined();
  });

  test("the API's refusals exit 1 with its message and code", async () => {
    expect(await h.cli('root', ['user', 'create', 'root'])).toEqual({ code: 1, stdout: '', stderr: 'kubegate user: user "root" already exists (ERR_CONFLICT)\n' });
    expect((await h.cli('root', ['user', 'create', 'bad name'])).stderr).toBe(
      'kubegate user: user "bad name" is not valid: use letters, digits and . _ @ : - (at most 128) (ERR_BAD_REQUEST)\n',
    );
    expect((await h.cli('root', ['user', 'show', 'nobody'])).stderr).toBe('kubegate user: user "nobody" does not exist (ERR_NOT_FOUND)\n');
    const notAdmin = await h.cli('dana', ['user', 'list']);
    expect(notAdmin).toEqual({ code: 1, stdout: '', stderr: `kubegate user: only members of ${ADMINS_GROUP} may GET /api/v1/users (ERR_FORBIDDEN)\n` });
  });

  test('groups: create, list, add and remove members, delete', async () => {
    expect((await h.cli('root', ['group', 'create', 'payments', '--description', 'the payments team'])).stdout).toBe('created group payments\n');
    expect((await h.cli('root', ['group', 'add-member', 'payments', 'dana'])).stdout).toBe('added dana to group payments\n');
    expect((await h.cli('root', ['group', 'add-member', 'payments', 'dana'])).stdout).toBe('dana is already a member of group payments\n');
    const table = await h.cli('root', ['group', 'list']);
    expect(table.stdout).toMatch(/^NAME\s+MEMBERS\s+DESCRIPTION\npayments\s+dana\s+the payments team\n$/);
    expect(json((await h.cli('root', ['group', 'list', '-o', 'json'])).stdout).groups[0].members).toEqual(['dana']);
    expect((await h.cli('root', ['group', 'remove-member', 'payments', 'dana'])).stdout).toBe('removed dana from group payments\n');
    expect(h.access.user('dana')?.groups).toEqual(['dev']);
    expect((await h.cli('root', ['group', 'delete', 'payments'])).stdout).toBe('deleted group payments\n');
    expect((await h.cli('root', ['group', 'list'])).stdout).toBe('no groups\n');
    expect((await h.cli('root', ['group', 'delete', 'payments'])).stderr).toBe('kubegate group: group "payments" does not exist (ERR_NOT_FOUND)\n');
  });
});

describe('policies', () => {
  const EXTRA = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: ops-beta
spec:
  subjects: {groups: [ops]}
  clusters: {names: [beta]}
  clusterRoles: [{name: view}]
`;
  let repo: string;

  beforeAll(() => {
    repo = path.join(h.dir, 'repo');
    fs.mkdirSync(path.join(repo, 'policies', 'team'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'policies', 'access.yaml'), POLICIES);
    fs.writeFileSync(path.join(repo, 'policies', 'break-glass.yaml'), BREAK_GLASS_POLICIES);
    fs.writeFileSync(path.join(repo, 'policies', 'README.md'), '# not a policy');
  });

  test('diff of the applied files says there is nothing to change; apply then changes nothing', async () => {
    // The applied set's files are called access.yaml and break-glass.yaml: run from policies/.
    await within(path.join(repo, 'policies'), {}, async () => {
      const kc = await h.kubeconfigFor('root');
      const args = ['--server', h.server.url, '--kubeconfig', kc];
      expect(await runCli(['policy', 'diff', '.', ...args])).toEqual({ code: 0, stdout: 'no changes against revision 1\n', stderr: '' });
      expect(await runCli(['policy', 'apply', '.', ...args])).toEqual({ code: 0, stdout: 'no changes: revision 1 stays in force\n', stderr: '' });
    });
    expect((await h.store.getPolicySet()).revision).toBe(1);
  });

  test('diff shows document and line changes; apply applies them and prints what changed', async () => {
    fs.writeFileSync(path.join(repo, 'policies', 'team', 'ops.yaml'), EXTRA);
    fs.writeFileSync(path.join(repo, 'policies', 'access.yaml'), POLICIES.replace('clusterRoles: [{name: edit}]', 'clusterRoles: [{name: admin}]'));
    await within(path.join(repo, 'policies'), {}, async () => {
      const kc = await h.kubeconfigFor('dana');
      const diff = await runCli(['policy', 'diff', '.', '--server', h.server.url, '--kubeconfig', kc]);
      expect(diff.code).toBe(0);
      expect(diff.stdout).toContain('against revision 1: 1 added, 1 changed, 0 removed, 5 unchanged\n  + AccessPolicy/ops-beta\n  ~ AccessPolicy/dev-alpha\n');
      expect(diff.stdout).toContain('--- a/access.yaml\n+++ b/access.yaml\n');
      expect(diff.stdout).toContain('-  clusterRoles: [{name: edit}]\n+  clusterRoles: [{name: admin}]\n');
      expect(diff.stdout).toContain('--- /dev/null\n+++ b/team/ops.yaml\n');

      const notAdmin = await runCli(['policy', 'apply', '.', '--server', h.server.url, '--kubeconfig', kc]);
      expect(notAdmin.code).toBe(1);
      expect(notAdmin.stderr).toContain('(ERR_FORBIDDEN)');

      const applied = await runCli(['policy', 'apply', '.', '--server', h.server.url, '--kubeconfig', await h.kubeconfigFor('root')]);
      expect(applied).toEqual({
        code: 0,
        stdout: 'applied revision 2: 1 added, 1 changed, 0 removed (5 AccessPolicy, 2 BreakGlassPolicy in force)\n  + AccessPolicy/ops-beta\n  ~ AccessPolicy/dev-alpha\n',
        stderr: '',
      });
    });
    expect(h.access.policyRevision).toBe(2);
    expect((await h.store.getPolicySet()).files.map((f) => f.fileName)).toEqual(['access.yaml', 'break-glass.yaml', 'team/ops.yaml']);
  });

  test('an invalid set: every error printed compiler-style, exit 1, nothing applied', async () => {
    const bad = path.join(repo, 'bad');
    fs.mkdirSync(bad, { recursive: true });
    fs.copyFileSync(path.join(__dirname, '..', 'policies', 'fixtures', 'many-errors.yaml'), path.join(bad, 'many-errors.yaml'));
    await within(repo, {}, async () => {
      const r = await runCli(['policy', 'apply', 'bad', '--server', h.server.url, '--kubeconfig', await h.kubeconfigFor('root')]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^bad\/many-errors\.yaml:12:15: ERR_POLICY_BAD_VALUE unknown access mode "console"/);
      expect(lines).toContainEqual(expect.stringMatching(/^bad\/many-errors\.yaml:\d+:\d+: ERR_POLICY_UNKNOWN_VERB unknown verb "lsit"/));
      expect(lines[lines.length - 1]).toMatch(/^kubegate policy: \d+ policy errors in 1 file; nothing was changed \(ERR_POLICY_INVALID\)$/);
      expect(lines.length).toBeGreaterThan(4);

      const diff = await runCli(['policy', 'diff', 'bad', '--server', h.server.url, '--kubeconfig', await h.kubeconfigFor('root')]);
      expect(diff.code).toBe(1);
      expect(diff.stderr).toMatch(/the files do not load \(\d+ errors\): applying them would change nothing\n$/);
    });
    expect((await h.store.getPolicySet()).revision).toBe(2);
  });

  test('--expected-revision that is no longer current is refused (409)', async () => {
    await within(path.join(repo, 'policies'), {}, async () => {
      const r = await runCli(['policy', 'apply', '.', '--expected-revision', '1', '--server', h.server.url, '--kubeconfig', await h.kubeconfigFor('root')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        "kubegate policy: the policy set is at revision 2, not 1: it was applied in between (by root); review the change with 'kubegate policy diff' and apply again (ERR_CONFLICT)\n",
      );
    });
  });

  test('get: a summary, the files as YAML, or everything as JSON', async () => {
    const summary = await h.cli('dana', ['policy', 'get']);
    expect(summary.code).toBe(0);
    expect(summary.stdout).toMatch(/^revision:\s+2$/m);
    expect(summary.stdout).toMatch(/^applied:\s+\S+Z by root$/m);
    expect(summary.stdout).toMatch(/^AccessPolicy\s+ops-beta\s+team\/ops\.yaml:1$/m);

    const yaml = await h.cli('dana', ['policy', 'get', '-o', 'yaml']);
    expect(yaml.stdout.startsWith('# kubegate policy file: access.yaml\napiVersion: kubegate.dev/v1alpha1\n')).toBe(true);
    expect(yaml.stdout).toContain('\n---\n# kubegate policy file: team/ops.yaml\n' + EXTRA);
    // The stream is the applied set itself: it parses to the same documents.
    const names = yaml.stdout
      .split(/^---$/m)
      .flatMap((part) => part.split(/^---\n/m))
      .filter((t) => t.includes('kind:'))
      .map((t) => (parse(t) as { metadata: { name: string } }).metadata.name);
    expect(names).toHaveLength(7);

    const asJson = json((await h.cli('dana', ['policy', 'get', '-o', 'json'])).stdout);
    expect(asJson).toMatchObject({ revision: 2, appliedBy: 'root' });
    expect(asJson.files).toHaveLength(3);
  });
});

describe('kubeconfig', () => {
  test('writes the file (0600) for a user, with the contexts the API chose', async () => {
    const file = path.join(h.dir, 'dana-issued.kubeconfig');
    const r = await h.cli('root', ['kubeconfig', '--user', 'dana', '--ttl', '2h', '-o', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^wrote .*dana-issued\.kubeconfig: user dana, 1 context\(s\) \(alpha\), valid until \S+Z\n$/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const doc = parse(fs.readFileSync(file, 'utf8'));
    expect(doc.contexts.map((c: { name: string }) => c.name)).toEqual(['alpha']);
    expect(doc.clusters[0].cluster['tls-server-name']).toBe(userServerName('dana', SUFFIX));

    // The issued kubeconfig is a working CLI credential too: dana calls the API with it.
    const me = await runCli(['whoami', '-o', 'json', '--server', h.server.url, '--kubeconfig', file]);
    expect(json(me.stdout)).toMatchObject({ user: 'dana', groups: ['dev'], admin: false });
  });

  test('prints the kubeconfig without -o', async () => {
    const r = await h.cli('dana', ['kubeconfig', '--user', 'dana', '--cluster', 'alpha']);
    expect(r.code).toBe(0);
    expect(parse(r.stdout)['current-context']).toBe('alpha');
  });

  test('refusals: no access, someone else, a malformed TTL', async () => {
    await h.addUser('nick', []);
    const none = await h.cli('root', ['kubeconfig', '--user', 'nick']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^kubegate kubeconfig: user "nick" has no kubectl access to any cluster.*\(ERR_FORBIDDEN\)\n$/);
    const other = await h.cli('dana', ['kubeconfig', '--user', 'root']);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('only administrators may issue a kubeconfig for another user');
    const ttl = await h.cli('root', ['kubeconfig', '--user', 'dana', '--ttl', '8 hours']);
    expect(ttl).toEqual({ code: 1, stdout: '', stderr: 'kubegate kubeconfig: "8 hours" is not a duration: use a number with a unit, e.g. 30s, 15m, 8h, 1h30m or 2d (ERR_DURATION)\n' });
    const long = await h.cli('root', ['kubeconfig', '--user', 'dana', '--ttl', '48h']);
    expect(long.stderr).toBe('kubegate kubeconfig: ttl 48h is longer than the maximum of 24h (ERR_BAD_REQUEST)\n');
  });
});

describe('break-glass, sessions, revocation, whoami, clusters', () => {
  test('request, list, approve twice to activate, cancel', async () => {
    const requested = await h.cli('olive', ['breakglass', 'request', '--policy', 'oncall-beta-admin', '--cluster', 'beta', '--duration', '1h', '--reason', 'INC-7', '-o', 'json']);
    expect(requested.code).toBe(0);
    const id = json(requested.stdout).request.id;
    expect(json(requested.stdout).request).toMatchObject({ state: 'pending', approvalsRequired: 2 });

    const listed = await h.cli('lead1', ['breakglass', 'list']);
    expect(listed.stdout).toMatch(new RegExp(`^ID\\s+USER\\s+POLICY\\s+CLUSTER\\s+STATE\\s+APPROVALS\\s+REQUESTED\\s+EXPIRES\\n${id}\\s+olive\\s+oncall-beta-admin\\s+beta\\s+pending\\s+0/2\\s+\\S+\\s+-\\n$`));

    const self = await h.cli('olive', ['breakglass', 'approve', id]);
    expect(self).toEqual({ code: 1, stdout: '', stderr: 'kubegate breakglass: you cannot approve your own break-glass request (ERR_FORBIDDEN)\n' });
    expect((await h.cli('lead1', ['breakglass', 'approve', id])).stdout).toBe(`break-glass request ${id} is pending: 1 of 2 approval(s) so far\n`);
    expect((await h.cli('lead2', ['breakglass', 'approve', id])).stdout).toMatch(new RegExp(`^break-glass request ${id} is active: oncall-beta-admin on beta until \\S+Z\\n$`));
    expect((await h.cli('olive', ['breakglass', 'list', '--state', 'active', '-o', 'json'])).stdout).toContain(`"id": "${id}"`);
    expect((await h.cli('olive', ['breakglass', 'cancel', id, '--reason', 'fixed'])).stdout).toBe(`break-glass request ${id} is cancelled (by olive: fixed)\n`);
  });

  test('request refused by policy, reject with a reason', async () => {
    const long = await h.cli('olive', ['breakglass', 'request', '--policy', 'oncall-beta-admin', '--cluster', 'beta', '--duration', '3h', '--reason', 'x']);
    expect(long.stderr).toBe('kubegate breakglass: duration 3h is longer than the maxDuration of BreakGlassPolicy "oncall-beta-admin" (2h) (ERR_BAD_REQUEST)\n');
    const noReason = await h.cli('olive', ['breakglass', 'request', '--policy', 'oncall-beta-admin', '--cluster', 'beta', '--duration', '1h']);
    expect(noReason.stderr).toContain('requires a justification');
    const id = json((await h.cli('olive', ['breakglass', 'request', '--policy', 'oncall-beta-admin', '--cluster', 'beta', '--duration', '1h', '--reason', 'y', '-o', 'json'])).stdout).request.id;
    expect((await h.cli('lead1', ['breakglass', 'reject', id, '--reason', 'not now'])).stdout).toBe(`break-glass request ${id} is rejected (by lead1: not now)\n`);
    expect((await h.cli('dana', ['breakglass', 'list'])).stdout).toBe('no break-glass requests\n');
  });

  test('sessions: start prints the id, touch and stop use it', async () => {
    const started = await h.cli('dana', ['session', 'start']);
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    expect((await h.store.getSession(id))?.user).toBe('dana');
    expect((await h.cli('dana', ['session', 'touch', id])).stdout).toMatch(new RegExp(`^session ${id} active at \\S+Z\\n$`));
    expect((await h.cli('dana', ['session', 'stop', id])).stdout).toMatch(new RegExp(`^session ${id} ended at \\S+Z\\n$`));
    expect((await h.cli('dana', ['session', 'stop', id])).stderr).toContain('has ended; start a new one (ERR_CONFLICT)');
  });

  test('whoami and cluster list', async () => {
    const me = await h.cli('dana', ['whoami']);
    expect(me.stdout).toMatch(/^user:\s+dana\ngroups:\s+dev\nadmin:\s+no\ncertificate:\s+[0-9a-f]+\n$/);
    const clusters = await h.cli('dana', ['cluster', 'list']);
    expect(clusters.stdout).toMatch(
      /^NAME\s+STATUS\s+LAST SEEN\s+VERSION\s+ACCESS\s+LABELS\s+POLICIES\nalpha\s+direct\s+-\s+-\s+kubectl\s+env=dev\s+dev-alpha\nbeta\s+direct\s+-\s+-\s+none\s+env=prod\s+-\ngamma\s+direct\s+-\s+-\s+none\s+env=staging\s+-\n$/,
    );
    const token = await h.cli('root', ['cluster', 'join-token', 'edge-site', '--ttl', '10m']);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/^[a-f0-9]{12}\.[A-Za-z0-9_-]{43}\n# join token [a-f0-9]{12} for cluster edge-site, valid until .+; usable once\n$/);
    const refused = await h.cli('dana', ['cluster', 'join-token', 'edge-site']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('only members of kubegate:admins');
  });

  test('revoke --user revokes and reports the count', async () => {
    await h.addUser('rita', ['dev']);
    await h.cert('rita');
    const r = await h.cli('root', ['revoke', '--user', 'rita']);
    expect(r.stdout).toMatch(/^revoked 1 certificate\(s\) of user rita at \S+Z\n$/);
    const denied = await h.cli('rita', ['whoami']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('this client certificate was revoked');
  });
});

describe('finding the API and the credentials', () => {
  test('$KUBEGATE_SERVER and the first file of $KUBECONFIG', async () => {
    const kc = await h.kubeconfigFor('dana');
    await within(process.cwd(), { KUBEGATE_SERVER: h.server.url, KUBECONFIG: [kc, '/nonexistent/other'].join(path.delimiter) }, async () => {
      const r = await runCli(['whoami', '-o', 'json']);
      expect(json(r.stdout).user).toBe('dana');
    });
  });

  test("the local stack's stack.json and <state-dir>/admin.kubeconfig", async () => {
    const stateDir = path.join(h.dir, 'state');
    fs.mkdirSync(stateDir, { recursive: true });
    fs.copyFileSync(await h.kubeconfigFor('root'), path.join(stateDir, 'admin.kubeconfig'));
    const descriptor = {
      pid: process.pid,
      edgeUrl: 'https://127.0.0.1:1',
      edgeAdminPort: 1,
      controlPlanePort: 1,
      controlPlaneStatusUrl: 'http://127.0.0.1:1',
      clusters: [],
      adminKubeconfig: path.join(stateDir, 'admin.kubeconfig'),
      accessLog: path.join(stateDir, 'access-log.jsonl'),
      startedAt: new Date().toISOString(),
    };
    await within(process.cwd(), { KUBEGATE_SERVER: undefined, KUBECONFIG: undefined }, async () => {
      writeStackDescriptor(stateDir, descriptor);
      const noApi = await runCli(['whoami', '--state-dir', stateDir]);
      expect(noApi.code).toBe(2);
      expect(noApi.stderr).toBe(`kubegate whoami: the local stack in ${stateDir} does not serve the admin API (stack.json has no apiUrl); pass --server URL or set KUBEGATE_SERVER\n`);

      writeStackDescriptor(stateDir, { ...descriptor, apiUrl: h.server.url });
      const r = await runCli(['whoami', '-o', 'json', '--state-dir', stateDir]);
      expect(r.code).toBe(0);
      expect(json(r.stdout)).toMatchObject({ user: 'root', admin: true });

      const empty = path.join(h.dir, 'empty-state');
      fs.mkdirSync(empty);
      const none = await runCli(['whoami', '--state-dir', empty]);
      expect(none.code).toBe(1);
      expect(none.stderr).toBe(`kubegate whoami: no local stack found in ${empty}: start one with 'kubegate dev up --state-dir ${empty}'; or pass --server URL (or set KUBEGATE_SERVER) (ERR_STACK_NOT_RUNNING)\n`);
    });
  });

  test('unusable kubeconfigs and unreachable servers are explained', async () => {
    const missing = await runCli(['whoami', '--server', h.server.url, '--kubeconfig', path.join(h.dir, 'nope.kubeconfig')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.kubeconfig does not exist; pass --kubeconfig FILE with a kubeconfig kubegate issued (ERR_KUBECONFIG_CREDENTIALS)');

    const tokenOnly = path.join(h.dir, 'token.kubeconfig');
    fs.writeFileSync(
      tokenOnly,
      'apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "https://x"}}]\nusers: [{name: u, user: {token: abc}}]\n',
    );
    const token = await runCli(['whoami', '--server', h.server.url, '--kubeconfig', tokenOnly]);
    expect(token.stderr).toContain('context "c" has no client certificate; the kubegate CLI needs a kubeconfig kubegate issued');

    const closed = await runCli(['whoami', '--server', 'https://127.0.0.1:1', '--kubeconfig', await h.kubeconfigFor('dana')]);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toMatch(/^kubegate whoami: cannot reach the kubegate API at https:\/\/127\.0\.0\.1:1: .*ECONNREFUSED.*\(ERR_API_UNREACHABLE\)\n$/);

    const plain = await runCli(['whoami', '--server', 'http://127.0.0.1:1', '--kubeconfig', await h.kubeconfigFor('dana')]);
    expect(plain.stderr).toContain('the API is only served over https, not http');
  });
});
