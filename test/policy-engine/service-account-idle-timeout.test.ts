/**
 * The idle period of per-user ServiceAccounts, resolved per cluster from ClusterSettings
 * (policies/README.md, "How documents combine" rule 6): the most specific ClusterSettings that
 * sets serviceAccountIdleTimeout wins (by name, then by selector, then all: true), among equally
 * specific ones the shortest, and 8 h without one. Through the engine, and through the control
 * plane's in-memory view (AccessState) as the agent gateway asks it.
 */
import { AccessState } from '../../control-plane/access-state/access-state';
import { ClusterSettingsResolver, DEFAULT_SERVICE_ACCOUNT_IDLE_TIMEOUT_MS } from '../../control-plane/policy-engine/cluster-settings-resolver';
import type { StoreState } from '../../control-plane/store/store';
import type { ClusterSettings } from '../../policies/src';
import { documents, engine, HOUR, MINUTE } from './engine-fixtures';

const FLEET_AND_EXCEPTIONS = `
  kind: ClusterSettings
  metadata: {name: fleet}
  spec:
    clusters: {all: true}
    serviceAccountIdleTimeout: 4h
  ---
  kind: ClusterSettings
  metadata: {name: prod}
  spec:
    clusters: {selector: {matchLabels: {env: prod}}}
    serviceAccountIdleTimeout: 1h
  ---
  kind: ClusterSettings
  metadata: {name: eu}
  spec:
    clusters: {selector: {matchLabels: {region: eu}}}
    serviceAccountIdleTimeout: 30m
  ---
  kind: ClusterSettings
  metadata: {name: batch}
  spec:
    clusters: {selector: {matchLabels: {tier: batch}}}
    serviceAccountIdleTimeout: 12h
  ---
  kind: ClusterSettings
  metadata: {name: lab}
  spec:
    clusters: {names: [lab-1]}
    serviceAccountIdleTimeout: 3d
  ---
  kind: ClusterSettings
  metadata: {name: incident}
  spec:
    description: a kill switch by name, without an idle period
    clusters: {names: [prod-us-1]}
    kubectl: disabled
`;

describe('serviceAccountIdleTimeout resolved per cluster', () => {
  test('without any ClusterSettings, every cluster gets 8 h', () => {
    expect(DEFAULT_SERVICE_ACCOUNT_IDLE_TIMEOUT_MS).toBe(8 * HOUR);
    expect(engine('').serviceAccountIdleTimeoutMs({ name: 'anything', labels: { env: 'prod' } })).toBe(8 * HOUR);
  });

  test('ClusterSettings that do not set it leave the 8 h default', () => {
    const e = engine(`
      kind: ClusterSettings
      metadata: {name: defaults}
      spec:
        clusters: {all: true}
        defaultAccessMode: console-only
    `);
    expect(e.serviceAccountIdleTimeoutMs({ name: 'prod-eu-1', labels: {} })).toBe(8 * HOUR);
  });

  test.each([
    ['a cluster only all: true covers', { name: 'dev-1', labels: { env: 'dev' } }, 4 * HOUR],
    ['a selector beats all: true', { name: 'prod-us-2', labels: { env: 'prod' } }, 1 * HOUR],
    ['a selector beats all: true, even when it is longer', { name: 'batch-1', labels: { tier: 'batch' } }, 12 * HOUR],
    ['two selectors of equal specificity: the shorter wins', { name: 'prod-eu-1', labels: { env: 'prod', region: 'eu' } }, 30 * MINUTE],
    ['the shorter wins whatever the document order', { name: 'prod-batch-1', labels: { tier: 'batch', env: 'prod' } }, 1 * HOUR],
    ['a name beats selectors and all: true, even when it is longer', { name: 'lab-1', labels: { env: 'prod', region: 'eu' } }, 3 * 24 * HOUR],
    ['a name in settings without an idle period does not hide the selector that sets one', { name: 'prod-us-1', labels: { env: 'prod' } }, 1 * HOUR],
  ])('%s', (_why, cluster, expected) => {
    expect(engine(FLEET_AND_EXCEPTIONS).serviceAccountIdleTimeoutMs(cluster)).toBe(expected);
  });

  test('the answer follows a cluster whose labels change (remembered per name and labels)', () => {
    const e = engine(FLEET_AND_EXCEPTIONS);
    expect(e.serviceAccountIdleTimeoutMs({ name: 'c', labels: { env: 'prod' } })).toBe(1 * HOUR);
    expect(e.serviceAccountIdleTimeoutMs({ name: 'c', labels: { env: 'dev' } })).toBe(4 * HOUR);
    expect(e.serviceAccountIdleTimeoutMs({ name: 'c', labels: { env: 'prod' } })).toBe(1 * HOUR);
  });

  test('the resolver says which ClusterSettings the period comes from', () => {
    const settings = documents(FLEET_AND_EXCEPTIONS).filter((d): d is ClusterSettings => d.kind === 'ClusterSettings');
    const resolver = new ClusterSettingsResolver(settings);
    expect(resolver.resolve({ name: 'prod-eu-1', labels: { env: 'prod', region: 'eu' } })).toMatchObject({
      serviceAccountIdleTimeoutMs: 30 * MINUTE,
      serviceAccountIdleTimeoutFrom: 'eu',
    });
    expect(resolver.resolve({ name: 'prod-us-1', labels: { env: 'prod' } })).toMatchObject({ killSwitch: 'incident', serviceAccountIdleTimeoutFrom: 'prod' });
    expect(new ClusterSettingsResolver([]).resolve({ name: 'x', labels: {} })).toMatchObject({
      serviceAccountIdleTimeoutMs: 8 * HOUR,
      serviceAccountIdleTimeoutFrom: undefined,
    });
  });
});

describe('AccessState.serviceAccountIdleTimeoutSeconds', () => {
  function state(revision: number, files: StoreState['policySet']['files']): StoreState {
    return {
      generation: revision,
      users: [],
      groups: [],
      revokedSerials: [],
      liveCertificates: [],
      policySet: { revision, files, appliedAt: 0, appliedBy: 'test' },
      breakGlass: [],
      sessions: [],
      clusters: [],
      edgeDrains: { users: {}, sharedChain: 0, userDeletions: 0 },
    };
  }
  const prodOneHour = {
    fileName: 'settings.yaml',
    text: 'apiVersion: kubegate.dev/v1alpha1\nkind: ClusterSettings\nmetadata: {name: prod}\nspec:\n  clusters: {selector: {matchLabels: {env: prod}}}\n  serviceAccountIdleTimeout: 1h\n',
  };

  test('answers in whole seconds from the policy set in force, and follows a new one', () => {
    const access = new AccessState();
    const prod = { name: 'prod-eu-1', labels: { env: 'prod' } };
    const dev = { name: 'dev-1', labels: { env: 'dev' } };
    expect(access.serviceAccountIdleTimeoutSeconds(prod)).toBe(8 * 3600);

    expect(access.applyStoreState(state(1, [prodOneHour]))).toBeNull();
    expect(access.serviceAccountIdleTimeoutSeconds(prod)).toBe(3600);
    expect(access.serviceAccountIdleTimeoutSeconds(dev)).toBe(8 * 3600);

    expect(access.applyStoreState(state(2, []))).toBeNull();
    expect(access.serviceAccountIdleTimeoutSeconds(prod)).toBe(8 * 3600);
  });

  test('a stored policy set that no longer loads keeps the previous period', () => {
    const access = new AccessState();
    access.applyStoreState(state(1, [prodOneHour]));
    const broken = { fileName: 'settings.yaml', text: prodOneHour.text.replace('1h', '1 hour') };
    expect(access.applyStoreState(state(2, [broken]))).not.toBeNull();
    expect(access.serviceAccountIdleTimeoutSeconds({ name: 'prod-eu-1', labels: { env: 'prod' } })).toBe(3600);
  });
});
