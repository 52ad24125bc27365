/**
 * refresh() after a store change: when the store's own change notice has already reloaded
 * that generation, refresh does not push the same configuration again (at ten thousand users a
 * push is half a second of CPU a revocation would wait behind); when nothing has, it reloads,
 * and the change is in force when it returns.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ControlPlane } from '../../control-plane/server/control-plane';
import { SqliteStore } from '../../control-plane/store/sqlite-store';
import { loadOrCreatePki } from '../../control-plane/pki/kubegate-pki';
import { edgelessControlPlaneProps } from '../support/edgeless-control-plane';

let dir: string;
let store: SqliteStore;
let cp: ControlPlane;
/** Snapshots the control plane's reconcile loop has published so far. */
const pushes = () => cp.publishStats.count;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-refresh-'));
  const pki = loadOrCreatePki({ stateDir: dir, now: new Date() });
  store = await SqliteStore.open(path.join(dir, 'kubegate.db'));
  cp = await ControlPlane.start(edgelessControlPlaneProps(dir, pki, store));
});

afterAll(async () => {
  await cp?.stop();
  await store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Lets the store's change notice and the reload it starts run to the end. */
const settle = () => new Promise((r) => setTimeout(r, 50));

test('a change the store\'s notice already reloaded is not pushed again by refresh', async () => {
  await store.createUser({ name: 'alice', groups: ['dev'], now: Date.now() });
  await settle();
  const before = pushes();
  await cp.refresh();
  expect(pushes()).toBe(before);
  expect(cp.access.user('alice')?.groups).toEqual(['dev']);
});

test('refresh reloads a change nobody reloaded yet, and it is in force when refresh returns', async () => {
  const before = pushes();
  // The notice starts a reload; refresh joins it rather than returning early.
  const changed = store.setUserGroups('alice', ['ops'], Date.now());
  await changed;
  await cp.refresh();
  expect(cp.access.user('alice')?.groups).toEqual(['ops']);
  expect(pushes()).toBe(before + 1);
});

test('without a change notice (another process wrote the store), refresh reloads', async () => {
  const other = await SqliteStore.open(path.join(dir, 'kubegate.db'));
  try {
    await other.setUserGroups('alice', ['sre'], Date.now());
  } finally {
    await other.close();
  }
  const before = pushes();
  await cp.refresh();
  expect(cp.access.user('alice')?.groups).toEqual(['sre']);
  expect(pushes()).toBe(before + 1);
});
