/**
 * Strict validation against Envoy's protos. protobufjs alone would accept every one of these
 * mistakes (dropping the field, zeroing the enum, emptying the Any); the validator must name
 * the resource and the exact path instead.
 */
import { envoyProtos } from '../../control-plane/proto/envoy-protos';
import {
  encodeResource,
  InvalidResourceError,
  validateResource,
  validateResources,
} from '../../control-plane/xds/resource-encoding';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, SECRET_TYPE_URL } from '../../control-plane/xds/resource-types';
import { edsCluster, endpoints, fixtureResources, listener } from './support/fixtures';

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const edge = () => listener('edge', 'edge-routes', 8443) as Mutable;
const cluster = () => edsCluster('kube-apiserver/alpha', 5) as Mutable;
const hcmOf = (l: Mutable) => l.filter_chains[0].filters[0].typed_config as Mutable;
const HCM_PATH = '$.filter_chains[0].filters[0].typed_config';

/** google.protobuf.Value's field names as the loaded Root spells them. */
function valueFields(): { string: string; number: string; bool: string; list: string } {
  const names = Object.keys(envoyProtos().lookupType('google.protobuf.Value').fields);
  const find = (re: RegExp) => names.find((n) => re.test(n))!;
  return { string: find(/^string_?value$/i), number: find(/^number_?value$/i), bool: find(/^bool_?value$/i), list: find(/^list_?value$/i) };
}

function errorOf(typeUrl: string, resource: object): InvalidResourceError {
  try {
    validateResource(typeUrl, resource);
  } catch (err) {
    if (err instanceof InvalidResourceError) return err;
    throw err;
  }
  throw new Error('expected an InvalidResourceError, but the resource was accepted');
}

describe('valid resources', () => {
  test('the fixture resources validate and encode to Anys that decode to the same configuration', () => {
    expect(() => validateResources(fixtureResources())).not.toThrow();
    const encoded = encodeResource(LISTENER_TYPE_URL, edge());
    expect(encoded.type_url).toBe(LISTENER_TYPE_URL);
    expect(Buffer.isBuffer(encoded.value)).toBe(true);
    const Listener = envoyProtos().lookupType('envoy.config.listener.v3.Listener');
    const decoded = Listener.toObject(Listener.decode(encoded.value), { longs: String, enums: String }) as Mutable;
    expect(decoded.name).toBe('edge');
    expect(decoded.address.socket_address.port_value).toBe(8443);
    // The nested Any was encoded with its payload, not as an empty Any.
    const any = decoded.filter_chains[0].filters[0].typed_config;
    expect(any.type_url).toMatch(/HttpConnectionManager$/);
    expect(any.value.length).toBeGreaterThan(20);
  });

  test('well-known types in fromObject form: Duration, wrappers, Struct, int64 as a decimal string, bytes', () => {
    const c = cluster();
    c.connect_timeout = { seconds: '5', nanos: 500_000_000 };
    c.per_connection_buffer_limit_bytes = { value: 32768 };
    const v = valueFields();
    c.metadata = { filter_metadata: { kubegate: { fields: { team: { [v.string]: 'platform' }, replicas: { [v.number]: 3 }, tags: { [v.list]: { values: [{ [v.bool]: true }] } } } } } };
    expect(() => validateResource(CLUSTER_TYPE_URL, c)).not.toThrow();
    const Cluster = envoyProtos().lookupType('envoy.config.cluster.v3.Cluster');
    const decoded = Cluster.toObject(Cluster.decode(encodeResource(CLUSTER_TYPE_URL, c).value), { longs: String }) as Mutable;
    expect(decoded.metadata.filter_metadata.kubegate.fields.team[v.string]).toBe('platform');
    expect(decoded.connect_timeout).toEqual({ seconds: '5', nanos: 500_000_000 });
    const secret = { name: 'raw', tls_certificate: { certificate_chain: { inline_bytes: Buffer.from('pem') }, private_key: { inline_bytes: 'cGVt' } } };
    expect(() => validateResource(SECRET_TYPE_URL, secret)).not.toThrow();
  });

  test('protobufjs on its own would silently drop an unknown field (why the validator exists)', () => {
    const Cluster = envoyProtos().lookupType('envoy.config.cluster.v3.Cluster');
    const withTypo = { ...cluster(), conect_timeout: { seconds: 5 } };
    const roundTrip = Cluster.toObject(Cluster.decode(Cluster.encode(Cluster.fromObject(withTypo)).finish())) as Mutable;
    expect(roundTrip.conect_timeout).toBeUndefined();
    expect(errorOf(CLUSTER_TYPE_URL, withTypo).code).toBe('ERR_XDS_UNKNOWN_FIELD');
  });
});

describe('InvalidResourceError', () => {
  test('an unknown field names the resource and the path', () => {
    const err = errorOf(CLUSTER_TYPE_URL, { ...cluster(), conect_timeout: { seconds: 5 } });
    expect(err).toMatchObject({ code: 'ERR_XDS_UNKNOWN_FIELD', resourceType: 'CDS', resourceName: 'kube-apiserver/alpha', path: '$.conect_timeout' });
    expect(err.message).toContain('CDS resource "kube-apiserver/alpha": $.conect_timeout: unknown field "conect_timeout" in envoy.config.cluster.v3.Cluster');
  });

  test('an unknown field inside an Any is found through its @type', () => {
    const l = edge();
    hcmOf(l).stat_prefixx = 'edge';
    const err = errorOf(LISTENER_TYPE_URL, l);
    expect(err.code).toBe('ERR_XDS_UNKNOWN_FIELD');
    expect(err.resourceName).toBe('edge');
    expect(err.path).toBe(`${HCM_PATH}.stat_prefixx`);
    expect(err.message).toContain('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  });

  test('camelCase where the protos use snake_case gets a hint', () => {
    const l = edge();
    hcmOf(l).statPrefix = hcmOf(l).stat_prefix;
    delete hcmOf(l).stat_prefix;
    expect(errorOf(LISTENER_TYPE_URL, l).message).toContain('did you mean "stat_prefix"');
  });

  test('an unknown enum name, at the top level and deep inside an Any', () => {
    expect(errorOf(CLUSTER_TYPE_URL, { ...cluster(), type: 'EDSS' })).toMatchObject({ code: 'ERR_XDS_UNKNOWN_ENUM', path: '$.type' });
    const l = edge();
    hcmOf(l).codec_type = 'HTTP4';
    const err = errorOf(LISTENER_TYPE_URL, l);
    expect(err).toMatchObject({ code: 'ERR_XDS_UNKNOWN_ENUM', path: `${HCM_PATH}.codec_type` });
    expect(err.message).toMatch(/"HTTP4" is not a value of enum .*CodecType: one of AUTO, HTTP1, HTTP2, HTTP3/);
  });

  test('an unknown @type, and an Any without one', () => {
    const l = edge();
    hcmOf(l).http_filters[0].typed_config['@type'] = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr';
    const err = errorOf(LISTENER_TYPE_URL, l);
    expect(err.code).toBe('ERR_XDS_UNKNOWN_TYPE');
    expect(err.path).toBe(`${HCM_PATH}.http_filters[0].typed_config["@type"]`);
    expect(err.message).toContain('Routr');

    const bare = edge();
    hcmOf(bare).http_filters[0].typed_config = {};
    expect(errorOf(LISTENER_TYPE_URL, bare)).toMatchObject({ code: 'ERR_XDS_UNKNOWN_TYPE', path: `${HCM_PATH}.http_filters[0].typed_config` });
  });

  test('wrong kinds: a string for a number, an object for a list, a bare boolean for a BoolValue', () => {
    const port = edge();
    port.address.socket_address.port_value = '8443';
    expect(errorOf(LISTENER_TYPE_URL, port)).toMatchObject({ code: 'ERR_XDS_WRONG_KIND', path: '$.address.socket_address.port_value' });

    expect(errorOf(LISTENER_TYPE_URL, { ...edge(), filter_chains: {} })).toMatchObject({ code: 'ERR_XDS_WRONG_KIND', path: '$.filter_chains' });

    const wrapper = edge();
    wrapper.filter_chains[0].transport_socket.typed_config.require_client_certificate = true;
    const err = errorOf(LISTENER_TYPE_URL, wrapper);
    expect(err).toMatchObject({ code: 'ERR_XDS_WRONG_KIND', path: '$.filter_chains[0].transport_socket.typed_config.require_client_certificate' });
    expect(err.message).toContain('write wrappers as { value: true }');

    expect(errorOf(CLUSTER_TYPE_URL, { ...cluster(), connect_timeout: { seconds: '5s' } })).toMatchObject({ code: 'ERR_XDS_WRONG_KIND', path: '$.connect_timeout.seconds' });
  });

  test('out-of-range numbers: a negative uint32, Duration nanos past a second', () => {
    const port = edge();
    port.address.socket_address.port_value = -1;
    expect(errorOf(LISTENER_TYPE_URL, port)).toMatchObject({ code: 'ERR_XDS_OUT_OF_RANGE', path: '$.address.socket_address.port_value' });
    expect(errorOf(CLUSTER_TYPE_URL, { ...cluster(), connect_timeout: { nanos: 2_000_000_000 } })).toMatchObject({ code: 'ERR_XDS_OUT_OF_RANGE', path: '$.connect_timeout.nanos' });
  });

  test('two members of one oneof', () => {
    const err = errorOf(CLUSTER_TYPE_URL, { ...cluster(), cluster_type: { name: 'envoy.clusters.aggregate' } });
    expect(err.code).toBe('ERR_XDS_ONEOF_CONFLICT');
    expect(err.message).toContain('cluster_discovery_type');
  });

  test('map keys that are not identifiers are quoted in the path; Struct values are checked', () => {
    const c = cluster();
    c.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http_protocol_options: {} },
        bogus: 1,
      },
    };
    expect(errorOf(CLUSTER_TYPE_URL, c).path).toBe('$.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].bogus');

    const s = cluster();
    s.metadata = { filter_metadata: { kubegate: { fields: { team: { text: 'platform' } } } } };
    expect(errorOf(CLUSTER_TYPE_URL, s)).toMatchObject({ code: 'ERR_XDS_UNKNOWN_FIELD', path: '$.metadata.filter_metadata.kubegate.fields.team.text' });
  });

  test('a Value field in the naming convention the loaded protos do not use is refused, with a hint', () => {
    // protobufjs bundles google.protobuf.Value with camelCase names; whichever convention the
    // loaded Root has is the one that encodes, the other one would be dropped silently.
    const v = valueFields();
    const other = v.string === 'stringValue' ? 'string_value' : 'stringValue';
    const s = cluster();
    s.metadata = { filter_metadata: { kubegate: { fields: { team: { [other]: 'platform' } } } } };
    const err = errorOf(CLUSTER_TYPE_URL, s);
    expect(err).toMatchObject({ code: 'ERR_XDS_UNKNOWN_FIELD', path: `$.metadata.filter_metadata.kubegate.fields.team.${other}` });
    expect(err.message).toContain(`did you mean "${v.string}"`);
  });

  test('a resource without its name field', () => {
    const { cluster_name: _name, ...unnamed } = endpoints('kube-apiserver/alpha', 6443) as Mutable;
    expect(errorOf(ENDPOINT_TYPE_URL, unnamed)).toMatchObject({ code: 'ERR_XDS_MISSING_NAME', path: '$.cluster_name', resourceName: '' });
  });

  test('validateResources reports the first bad resource of any type', () => {
    const resources = fixtureResources();
    const secrets = [...resources.secrets, { name: 'broken', tls_certificate: { certificate_chain: { inline_strin: 'x' } } }];
    expect(() => validateResources({ ...resources, secrets })).toThrow(/SDS resource "broken": \$\.tls_certificate\.certificate_chain\.inline_strin: unknown field/);
  });
});
