import { Snapshot, InconsistentSnapshotError, canonicalJson } from '../../control-plane/xds/snapshot';
import { InvalidResourceError } from '../../control-plane/xds/resource-encoding';
import {
  CLUSTER_TYPE_URL,
  ENDPOINT_TYPE_URL,
  LISTENER_TYPE_URL,
  RESOURCE_TYPES,
  ROUTE_TYPE_URL,
  SECRET_TYPE_URL,
} from '../../control-plane/xds/resource-types';
import type { XdsResources } from '../../control-plane/xds/resources';
import { CLUSTERS, edsCluster, endpoints, fixtureResources, listener } from './support/fixtures';

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function consistencyError(resources: XdsResources): InconsistentSnapshotError {
  try {
    new Snapshot(resources).consistencyCheck();
  } catch (err) {
    if (err instanceof InconsistentSnapshotError) return err;
    throw err;
  }
  throw new Error('expected an InconsistentSnapshotError, but the snapshot was consistent');
}

/** Reverses key order at every level: same content, different JSON text. */
function reorderKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorderKeys);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reorderKeys(v)]));
  return value;
}

describe('versions', () => {
  test('are short content hashes: the same content gives the same versions whatever the order', () => {
    const a = new Snapshot(fixtureResources());
    const shuffled = fixtureResources();
    const b = new Snapshot({
      listeners: shuffled.listeners.map(reorderKeys) as object[],
      routes: [...shuffled.routes].reverse(),
      clusters: [...shuffled.clusters].reverse().map(reorderKeys) as object[],
      endpoints: shuffled.endpoints,
      secrets: [...shuffled.secrets].reverse(),
    });
    for (const type of RESOURCE_TYPES) {
      expect(a.version(type.typeUrl)).toMatch(/^[0-9a-f]{16}$/);
      expect(b.version(type.typeUrl)).toBe(a.version(type.typeUrl));
    }
    expect(b.version()).toBe(a.version());
  });

  test('a change to one type changes that type and the overall version only', () => {
    const a = new Snapshot(fixtureResources());
    const b = new Snapshot(fixtureResources({ apiserverPort: 7443 }));
    expect(b.version(ENDPOINT_TYPE_URL)).not.toBe(a.version(ENDPOINT_TYPE_URL));
    for (const url of [LISTENER_TYPE_URL, ROUTE_TYPE_URL, CLUSTER_TYPE_URL, SECRET_TYPE_URL] as const) expect(b.version(url)).toBe(a.version(url));
    expect(b.version()).not.toBe(a.version());
    expect(new Set(RESOURCE_TYPES.map((t) => a.version(t.typeUrl))).size).toBe(5);
  });

  test('canonical JSON sorts keys, drops undefined and writes bytes as base64', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x'], c: undefined }, e: Buffer.from('hi') })).toBe('{"a":{"d":[1,"x"]},"b":1,"e":{"$bytes":"aGk="}}');
  });
});

describe('immutability and encoding', () => {
  test('mutating the input afterwards changes neither the resources nor the versions', () => {
    const input = fixtureResources() as { listeners: Mutable[] } & XdsResources;
    const snapshot = new Snapshot(input);
    const before = snapshot.version(LISTENER_TYPE_URL);
    input.listeners[0]!.address.socket_address.port_value = 1;
    expect(snapshot.version(LISTENER_TYPE_URL)).toBe(before);
    const kept = snapshot.resourceMap(LISTENER_TYPE_URL).get('edge') as Mutable;
    expect(kept.address.socket_address.port_value).toBe(8443);
    expect(Object.isFrozen(kept.address.socket_address)).toBe(true);
    expect(() => {
      'use strict';
      (snapshot.resources().listeners as Mutable[]).push({});
    }).toThrow(TypeError);
  });

  test('each resource is encoded once and shared; names select and sort; unknown names are skipped', () => {
    const snapshot = new Snapshot(fixtureResources());
    const all = snapshot.encodedResources(SECRET_TYPE_URL);
    expect(all).toHaveLength(6);
    const some = snapshot.encodedResources(SECRET_TYPE_URL, ['user-ca', 'edge-cert', 'nope', 'user-ca']);
    expect(some).toHaveLength(2);
    expect(some[0]).toBe(all.find((r) => r === some[0]));
    expect(snapshot.encodedResources(SECRET_TYPE_URL, ['edge-cert'])[0]!.value).toBe(some[0]!.value);
    expect(snapshot.encodedResources(ENDPOINT_TYPE_URL, [])).toEqual([]);
  });

  test('validate() throws InvalidResourceError for a resource that does not match the protos', () => {
    const resources = fixtureResources();
    const snapshot = new Snapshot({ ...resources, endpoints: [...resources.endpoints, { cluster_name: 'x', endpointz: [] }] });
    expect(() => snapshot.validate()).toThrow(InvalidResourceError);
    expect(() => snapshot.validate()).toThrow(/EDS resource "x": \$\.endpointz: unknown field/);
  });
});

describe('names', () => {
  test('duplicate names within a type are rejected', () => {
    const resources = fixtureResources();
    const build = () => new Snapshot({ ...resources, endpoints: [...resources.endpoints, endpoints(CLUSTERS[0], 1)] });
    expect(build).toThrow(InvalidResourceError);
    expect(build).toThrow(/repeats the name "kube-apiserver\/alpha"/);
    try {
      build();
    } catch (err) {
      expect(err).toMatchObject({ code: 'ERR_XDS_DUPLICATE_NAME', resourceType: 'EDS', resourceName: CLUSTERS[0] });
    }
  });

  test('the same name in two different types is fine', () => {
    const resources = fixtureResources();
    expect(() => new Snapshot({ ...resources, secrets: [...resources.secrets, { name: 'edge', validation_context: {} }] })).not.toThrow();
  });

  test('a resource without a name is rejected', () => {
    const resources = fixtureResources();
    expect(() => new Snapshot({ ...resources, routes: [{ virtual_hosts: [] }] })).toThrow(expect.objectContaining({ code: 'ERR_XDS_MISSING_NAME', resourceType: 'RDS' }));
  });
});

describe('consistencyCheck', () => {
  test('the fixture is consistent', () => {
    expect(() => new Snapshot(fixtureResources()).consistencyCheck()).not.toThrow();
  });

  test('a listener referencing a route configuration that is not there', () => {
    const resources = fixtureResources();
    const err = consistencyError({ ...resources, routes: resources.routes.filter((r) => (r as Mutable).name !== 'edge-routes') });
    expect(err.missing).toEqual([{ kind: 'route', name: 'edge-routes', referencedBy: 'listener "edge"' }]);
    expect(err.message).toContain('listener "edge" references route configuration "edge-routes"');
  });

  test('RDS names are found in every filter chain and in the default filter chain', () => {
    const resources = fixtureResources();
    const l = listener('edge', 'edge-routes', 8443) as Mutable;
    const second = (listener('x', 'second-chain-routes', 1) as Mutable).filter_chains[0];
    const fallback = (listener('y', 'default-chain-routes', 1) as Mutable).filter_chains[0];
    l.filter_chains = [...l.filter_chains, { ...second, filter_chain_match: { server_names: ['b.example'] } }];
    l.default_filter_chain = fallback;
    const err = consistencyError({ ...resources, listeners: [l] });
    expect(err.missing.map((m) => m.name).sort()).toEqual(['default-chain-routes', 'second-chain-routes']);
  });

  test('an EDS cluster without its load assignment, named by service_name or by the cluster name', () => {
    const resources = fixtureResources();
    const clusters = [...resources.clusters, edsCluster('by-name', 5), edsCluster('by-service', 5, 'the-service'), { name: 'dns', type: 'STRICT_DNS', connect_timeout: { seconds: 1 } }];
    const err = consistencyError({ ...resources, clusters, endpoints: resources.endpoints.slice(1) });
    const endpointsMissing = err.missing.filter((m) => m.kind === 'endpoints');
    // In cluster-name order; the STRICT_DNS cluster needs no load assignment.
    expect(endpointsMissing).toEqual([
      { kind: 'endpoints', name: 'by-name', referencedBy: 'cluster "by-name"' },
      { kind: 'endpoints', name: 'the-service', referencedBy: 'cluster "by-service"' },
      { kind: 'endpoints', name: CLUSTERS[0], referencedBy: `cluster "${CLUSTERS[0]}"` },
    ]);
  });

  test('SDS secrets referenced by listeners (certificate and validation context) and clusters', () => {
    const resources = fixtureResources();
    const keep = new Set(['identity/' + CLUSTERS[0], 'ca/' + CLUSTERS[0], 'ca/' + CLUSTERS[1]]);
    const err = consistencyError({ ...resources, secrets: resources.secrets.filter((s) => keep.has((s as Mutable).name)) });
    expect(err.missing).toEqual([
      { kind: 'secret', name: 'edge-cert', referencedBy: 'listener "edge"' },
      { kind: 'secret', name: 'user-ca', referencedBy: 'listener "edge"' },
      { kind: 'secret', name: `identity/${CLUSTERS[1]}`, referencedBy: `cluster "${CLUSTERS[1]}"` },
    ]);
  });

  test('lists every missing name of every kind at once', () => {
    const err = consistencyError({ ...fixtureResources(), routes: [], endpoints: [], secrets: [] });
    expect(err.missing.filter((m) => m.kind === 'route')).toHaveLength(1);
    expect(err.missing.filter((m) => m.kind === 'endpoints')).toHaveLength(2);
    expect(err.missing.filter((m) => m.kind === 'secret')).toHaveLength(6);
    expect(err.message).toMatch(/^xDS snapshot is inconsistent; 9 missing references: /);
  });

  test('references Envoy resolves elsewhere (a static secret, routes from another config source) are not required', () => {
    const resources = fixtureResources();
    const l = listener('edge', 'elsewhere-routes', 8443) as Mutable;
    l.filter_chains[0].filters[0].typed_config.rds.config_source = { path_config_source: { path: '/etc/envoy/rds.yaml' }, resource_api_version: 'V3' };
    l.filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs = [{ name: 'static-from-bootstrap' }];
    expect(() => new Snapshot({ ...resources, listeners: [l] }).consistencyCheck()).not.toThrow();
  });
});
