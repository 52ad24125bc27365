/**
 * PolicyDirectoryWatcher against a real SQLite store, real files and real fs.watch: what ends
 * up applied, what a bad set leaves in force, what status() and the log say, and the layouts
 * deployments use. Background work is awaited with `eventually`, never with fixed sleeps, and
 * nothing asserts how long anything took.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPolicies } from '../../policies/src';
import type { Store } from '../../control-plane/store/store';
import { eventually } from './eventually';
import { accessPolicy, POLICY_WITH_SYNTAX_ERROR, POLICY_WITH_TWO_ERRORS } from './policy-texts';
import { openWatcherHarness, T0, type WatcherHarness } from './watcher-harness';

/** Long enough that a test using it sees changes through file-system events only. */
const NO_POLLING = 3_600_000;

let h: WatcherHarness;
beforeEach(async () => {
  h = await openWatcherHarness();
});
afterEach(async () => {
  await h.close();
});

const revision = async () => (await h.store.getPolicySet()).revision;
const errorLogs = () => h.logs.filter((l) => l.level === 'error');

describe('PolicyDirectoryWatcher', () => {
  test('the initial sync applies the directory as directory:<dir>, then refreshes the edge', async () => {
    h.write('payments.yaml', accessPolicy('payments'));
    h.write('teams/checkout.yml', accessPolicy('checkout'));
    const watcher = h.watcher();
    await watcher.start();

    const set = await h.store.getPolicySet();
    expect(set).toMatchObject({ revision: 1, appliedAt: T0, appliedBy: `directory:${h.dir}` });
    expect(await h.storedFiles()).toEqual({ 'payments.yaml': accessPolicy('payments'), 'teams/checkout.yml': accessPolicy('checkout') });
    expect(h.refreshes).toEqual([1]);
    expect(watcher.status()).toEqual({ dir: h.dir, lastAppliedRevision: 1, lastAppliedAt: T0, lastError: null, lastCheckedAt: T0 });
    expect(h.logs).toContainEqual(expect.objectContaining({ level: 'info', msg: 'applied the policy directory', revision: 1, files: 2, documents: 2 }));
  });

  test('edits are applied through file-system events: in place, replaced by an editor, in a new folder', async () => {
    h.write('team.yaml', accessPolicy('team'));
    await h.watcher({ pollIntervalMs: NO_POLLING }).start();

    h.now = T0 + 1000;
    h.write('team.yaml', accessPolicy('team', 'sre'));
    await eventually(async () => expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team', 'sre') }));
    expect(await h.store.getPolicySet()).toMatchObject({ revision: 2, appliedAt: T0 + 1000 });

    // Write a temporary file and rename it over the original, as vim and many tools do.
    const tmp = path.join(h.dir, '.team.yaml.swp');
    fs.writeFileSync(tmp, accessPolicy('team', 'platform'));
    fs.renameSync(tmp, path.join(h.dir, 'team.yaml'));
    await eventually(async () => expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team', 'platform') }));
    await eventually(() => expect(h.refreshes).toEqual([1, 2, 3]));

    // A folder created later is watched too: the edit of its file arrives by an event of its own.
    h.write('teams/new/oncall.yaml', accessPolicy('oncall'));
    await eventually(async () => expect(Object.keys(await h.storedFiles())).toEqual(['team.yaml', 'teams/new/oncall.yaml']));
    h.write('teams/new/oncall.yaml', accessPolicy('oncall', 'sre'));
    await eventually(async () => expect((await h.storedFiles())['teams/new/oncall.yaml']).toBe(accessPolicy('oncall', 'sre')));
  });

  test('bad files change nothing; every error of every file is in status() and in one log entry until fixed', async () => {
    h.write('team.yaml', accessPolicy('team'));
    const watcher = h.watcher();
    await watcher.start();
    const applied = await h.store.getPolicySet();

    h.now = T0 + 5000;
    h.write('team/broken.yaml', POLICY_WITH_TWO_ERRORS);
    h.write('z.yml', POLICY_WITH_SYNTAX_ERROR);
    const failure = await eventually(() => {
      const { lastError } = watcher.status();
      expect(lastError?.errors).toHaveLength(3);
      return lastError!;
    });
    expect(failure.at).toBe(T0 + 5000);
    expect(failure.errors.map(({ file, line, column, code }) => ({ file, line, column, code }))).toEqual([
      { file: 'team/broken.yaml', line: 8, column: 15, code: 'ERR_POLICY_BAD_VALUE' },
      { file: 'team/broken.yaml', line: 12, column: 20, code: 'ERR_POLICY_UNKNOWN_VERB' },
      { file: 'z.yml', line: 5, column: 1, code: 'ERR_POLICY_YAML_SYNTAX' },
    ]);
    expect(failure.errors[1]!.message).toMatch(/unknown verb "lsit".*did you mean "list"/);
    expect(failure.message).toMatch(/^3 policy errors in 2 files:\nteam\/broken\.yaml:8:15: ERR_POLICY_BAD_VALUE /);

    // Nothing was written, nothing refreshed: the previous set is in force.
    expect(await h.store.getPolicySet()).toEqual(applied);
    expect(h.refreshes).toEqual([1]);
    expect(watcher.status()).toMatchObject({ lastAppliedRevision: 1, lastAppliedAt: T0 });

    // One structured entry, every error formatted compiler-style.
    const logged = errorLogs();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ msg: expect.stringMatching(/stays in force/), dir: h.dir, appliedRevision: 1, errorCount: 3 });
    expect(String(logged[0]!.error).split('\n').slice(1)).toEqual([
      expect.stringMatching(/^team\/broken\.yaml:8:15: ERR_POLICY_BAD_VALUE unknown access mode "console"/),
      expect.stringMatching(/^team\/broken\.yaml:12:20: ERR_POLICY_UNKNOWN_VERB unknown verb "lsit"/),
      expect.stringMatching(/^z\.yml:5:1: ERR_POLICY_YAML_SYNTAX /),
    ]);

    // Fixing the files applies them and clears the error.
    h.write('team/broken.yaml', accessPolicy('fixed'));
    h.remove('z.yml');
    await eventually(() => expect(watcher.status().lastError).toBeNull());
    expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team'), 'team/broken.yaml': accessPolicy('fixed') });
    expect(watcher.status().lastAppliedRevision).toBe(2);
    expect(h.refreshes).toEqual([1, 2]);
    expect(h.logs).toContainEqual(expect.objectContaining({ level: 'info', msg: 'the policy directory is in force again' }));
  });

  test('a directory that is bad from the start applies nothing, and start() still resolves', async () => {
    h.write('broken.yaml', POLICY_WITH_TWO_ERRORS);
    const watcher = h.watcher();
    await watcher.start();
    expect(await revision()).toBe(0);
    expect(h.refreshes).toEqual([]);
    expect(watcher.status()).toMatchObject({ lastAppliedRevision: null, lastAppliedAt: null, lastCheckedAt: T0 });
    expect(watcher.status().lastError?.errors.map((e) => e.code)).toEqual(['ERR_POLICY_BAD_VALUE', 'ERR_POLICY_UNKNOWN_VERB']);
    expect(await watcher.syncNow()).toMatchObject({ outcome: 'invalid', error: { errors: [{ line: 8 }, { line: 12 }] } });
  });

  test('deleting a policy file removes its documents from the applied set', async () => {
    h.write('a.yaml', accessPolicy('a'));
    h.write('b.yaml', accessPolicy('b'));
    await h.watcher().start();
    expect(Object.keys(await h.storedFiles())).toEqual(['a.yaml', 'b.yaml']);

    h.remove('b.yaml');
    await eventually(async () => expect(Object.keys(await h.storedFiles())).toEqual(['a.yaml']));
    const documents = loadPolicies((await h.store.getPolicySet()).files);
    expect(documents.map((d) => d.metadata.name)).toEqual(['a']);
  });

  test('identical content creates no new revision, for rewrites and for a restarted watcher', async () => {
    h.write('team.yaml', accessPolicy('team'));
    const watcher = h.watcher();
    await watcher.start();

    h.write('team.yaml', accessPolicy('team'));
    expect(await watcher.syncNow()).toEqual({ outcome: 'unchanged', revision: 1 });

    // A control plane restarted on the same store and directory finds its set in force.
    const restarted = h.watcher();
    await restarted.start();
    expect(restarted.status()).toMatchObject({ lastAppliedRevision: 1, lastAppliedAt: T0, lastError: null });
    expect(h.refreshes).toEqual([1]);

    // The next real change is the very next revision: nothing was applied in between.
    await restarted.stop();
    h.write('team.yaml', accessPolicy('team', 'sre'));
    await eventually(async () => expect(await revision()).toBe(2));
    expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team', 'sre') });
  });

  test('hidden files and directories are neither applied nor able to break the set', async () => {
    h.write('team.yaml', accessPolicy('team'));
    h.write('.git/objects/broken.yaml', POLICY_WITH_TWO_ERRORS);
    h.write('.draft.yaml', POLICY_WITH_SYNTAX_ERROR);
    h.write('README.md', '# policies');
    const watcher = h.watcher();
    await watcher.start();
    expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team') });
    expect(watcher.status().lastError).toBeNull();

    h.write('.git/objects/other.yaml', POLICY_WITH_SYNTAX_ERROR);
    expect(await watcher.syncNow()).toEqual({ outcome: 'unchanged', revision: 1 });
    expect(watcher.status().lastError).toBeNull();
  });

  test('a ConfigMap volume is applied through ..data, and its atomic swap applies the new data', async () => {
    // The layout kubelet's atomic writer produces: a timestamped copy, ..data pointing at it,
    // and one top-level symlink per key.
    const first = '..2025_06_02_09_00_00.000000001';
    h.write(`${first}/team.yaml`, accessPolicy('team'));
    fs.symlinkSync(first, path.join(h.dir, '..data'));
    fs.symlinkSync(path.join('..data', 'team.yaml'), path.join(h.dir, 'team.yaml'));
    const watcher = h.watcher({ pollIntervalMs: NO_POLLING });
    await watcher.start();
    expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team') });

    // The ConfigMap changes: new copy, ..data swapped by a rename, new key linked, old copy gone.
    const second = '..2025_06_02_10_00_00.000000002';
    h.write(`${second}/team.yaml`, accessPolicy('team', 'sre'));
    h.write(`${second}/oncall.yaml`, accessPolicy('oncall'));
    fs.symlinkSync(second, path.join(h.dir, '..data_tmp'));
    fs.renameSync(path.join(h.dir, '..data_tmp'), path.join(h.dir, '..data'));
    fs.symlinkSync(path.join('..data', 'oncall.yaml'), path.join(h.dir, 'oncall.yaml'));
    h.remove(first);

    await eventually(async () => expect(await h.storedFiles()).toEqual({ 'oncall.yaml': accessPolicy('oncall'), 'team.yaml': accessPolicy('team', 'sre') }));
    expect(watcher.status()).toMatchObject({ lastAppliedRevision: 2, lastError: null });
    expect(h.refreshes).toEqual([1, 2]);
  });

  test('a directory that is a symlink swapped atomically to another release is followed', async () => {
    const releases = path.join(h.root, 'releases');
    fs.mkdirSync(path.join(releases, 'abc'), { recursive: true });
    fs.writeFileSync(path.join(releases, 'abc', 'team.yaml'), accessPolicy('team'));
    const current = path.join(h.root, 'current');
    fs.symlinkSync(path.join('releases', 'abc'), current);
    const watcher = h.watcher({ dir: current, pollIntervalMs: NO_POLLING });
    await watcher.start();
    expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team') });

    fs.mkdirSync(path.join(releases, 'def'));
    fs.writeFileSync(path.join(releases, 'def', 'team.yaml'), accessPolicy('team', 'sre'));
    fs.symlinkSync(path.join('releases', 'def'), current + '.next');
    fs.renameSync(current + '.next', current);
    await eventually(async () => expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team', 'sre') }));

    // The new release is the one being watched from now on.
    fs.writeFileSync(path.join(releases, 'def', 'extra.yaml'), accessPolicy('extra'));
    await eventually(async () => expect(Object.keys(await h.storedFiles())).toEqual(['extra.yaml', 'team.yaml']));
    expect(await h.store.getPolicySet()).toMatchObject({ revision: 3, appliedBy: `directory:${current}` });
  });

  test('a missing directory is an error in status and in the log, and recovers when it appears', async () => {
    const watcher = h.watcher({ pollIntervalMs: NO_POLLING });
    await watcher.start();
    expect(await revision()).toBe(0);
    expect(watcher.status().lastError).toEqual({ at: T0, message: `policy directory ${h.dir} does not exist`, errors: [] });
    expect(errorLogs()).toEqual([expect.objectContaining({ error: `policy directory ${h.dir} does not exist`, appliedRevision: null })]);

    // Events on the parent see the directory appear.
    h.write('team.yaml', accessPolicy('team'));
    await eventually(async () => expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team') }));
    expect(watcher.status()).toMatchObject({ lastAppliedRevision: 1, lastError: null });
    expect(h.refreshes).toEqual([1]);
  });

  test('polling finds a directory whose parent did not exist either, and keeps following it', async () => {
    const deep = path.join(h.root, 'mount', 'policies');
    const watcher = h.watcher({ dir: deep, pollIntervalMs: 50 });
    await watcher.start();
    expect(watcher.status().lastError?.message).toBe(`policy directory ${deep} does not exist`);

    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, 'team.yaml'), accessPolicy('team'));
    await eventually(() => expect(watcher.status()).toMatchObject({ lastAppliedRevision: 1, lastError: null }));

    fs.writeFileSync(path.join(deep, 'team.yaml'), accessPolicy('team', 'sre'));
    await eventually(async () => expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team', 'sre') }));
  });

  test('an empty directory is an error, not an empty policy set that would refuse everyone', async () => {
    h.write('team.yaml', accessPolicy('team'));
    const watcher = h.watcher();
    await watcher.start();
    h.remove('team.yaml');
    const result = await watcher.syncNow();
    expect(result).toMatchObject({ outcome: 'failed', error: { message: `policy directory ${h.dir} holds no policy files (*.yaml, *.yml)` } });
    expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team') });
  });

  test('refresh() is called after each apply, with the new revision already stored; a failed refresh is retried', async () => {
    h.write('team.yaml', accessPolicy('team'));
    const watcher = h.watcher({ pollIntervalMs: 50 });
    h.refreshBehaviour = async () => {
      throw new Error('edge unreachable');
    };
    await watcher.start();
    expect(h.refreshes).toEqual([1]);
    expect(watcher.status().lastError?.message).toBe('policy revision 1 was applied, but the edge could not be refreshed: edge unreachable');

    // The polling fallback retries the refresh (not the apply) until it works.
    h.refreshBehaviour = async () => undefined;
    await eventually(() => expect(watcher.status().lastError).toBeNull());
    expect(await revision()).toBe(1);
    expect(h.refreshes.every((r) => r === 1)).toBe(true);
    expect(h.refreshes.length).toBeGreaterThanOrEqual(2);
  });

  test('a concurrent apply is retried once against the new revision; a second conflict is reported', async () => {
    h.write('team.yaml', accessPolicy('team'));
    let races = 1;
    const watcher = h.watcher({ store: racingStore(h.store, () => races-- > 0) });
    const result = await watcher.syncNow();
    expect(result).toEqual({ outcome: 'applied', revision: 2, files: 1, documents: 1 });
    expect(await h.storedFiles()).toEqual({ 'team.yaml': accessPolicy('team') });
    expect(h.logs).toContainEqual(expect.objectContaining({ msg: 'the policy set changed while applying the directory; trying again' }));

    races = 2;
    h.write('team.yaml', accessPolicy('team', 'sre'));
    const conflicted = await watcher.syncNow();
    expect(conflicted).toMatchObject({ outcome: 'failed', error: { message: expect.stringMatching(/someone applied in between/) } });
    expect(await h.store.getPolicySet()).toMatchObject({ revision: 4, appliedBy: 'racer' });
    expect(watcher.status()).toMatchObject({ lastAppliedRevision: 2, lastError: { message: expect.stringMatching(/someone applied/) } });
  });

  test('used only through syncNow(), as a CLI would, it applies and watches nothing', async () => {
    h.write('team.yaml', accessPolicy('team'));
    await settledHandles();
    const before = handles();
    const watcher = h.watcher();
    expect(await watcher.syncNow()).toEqual({ outcome: 'applied', revision: 1, files: 1, documents: 1 });
    expect(handles()).toEqual(before);
    expect(h.refreshes).toEqual([1]);
  });

  test('stop() closes every watch and timer it opened', async () => {
    h.write('team.yaml', accessPolicy('team'));
    h.write('teams/a/b.yaml', accessPolicy('b'));
    await settledHandles();
    const before = handles();
    const watcher = h.watcher({ pollIntervalMs: 50 });
    await watcher.start();
    h.write('team.yaml', accessPolicy('team', 'sre'));
    expect(handles().length).toBeGreaterThan(before.length);
    await watcher.stop();
    await eventually(() => expect(handles()).toEqual(before));
  });
});

const handles = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'FSEventWrap' || r === 'StatWatcher').sort();

/** Closed handles are released a little later: let earlier tests' go before taking a baseline. */
async function settledHandles(): Promise<void> {
  await eventually(() => expect(handles().filter((r) => r !== 'Timeout')).toEqual([]), { timeoutMs: 5000 });
}

/**
 * The store, except that `getPolicySet` lets someone else apply right after it answered (while
 * `race()` says so), as another administrator's `kubegate policy apply` could.
 */
function racingStore(store: Store, race: () => boolean): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'getPolicySet') {
        return async () => {
          const set = await target.getPolicySet();
          if (race()) {
            const files = [{ fileName: 'other.yaml', text: accessPolicy('other') }];
            await target.applyPolicySet({ files, appliedAt: T0, appliedBy: 'racer', expectedRevision: set.revision });
          }
          return set;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
