/**
 * Request attributes as kube-apiserver v1.34 derives them (requestinfo.go, NewRequestInfo).
 * The first tables restate the cases of kube's requestinfo_test.go (TestGetAPIRequestInfo,
 * TestGetNonAPIRequestInfo, TestSelectorParsing) in our own form; the rest cover the query
 * decoding kube does on the way, the paths the edge refuses, and properties over generated
 * paths.
 */
import { stripClusterPrefix } from '../../control-plane/kubernetes-api/cluster-prefix';
import {
  REQUEST_VERBS,
  formatRequestPath,
  isPrivilegedSubresource,
  parseRequestAttributes,
  type RequestAttributes,
} from '../../control-plane/kubernetes-api/request-attributes';
import { MAX_QUERY_PARAMETERS, RequestPathError, type RequestPathRejection } from '../../control-plane/kubernetes-api/request-target-check';
import { parseGoQuery } from '../../control-plane/kubernetes-api/go-query';

type Expected = Omit<RequestAttributes, 'isResourceRequest' | 'path' | 'verbViaPathPrefix'>;

/** [method, target, verb, apiPrefix, apiGroup, apiVersion, namespace, resource, subresource, name, parts] */
type Row = [string, string, string, string, string, string, string, string, string, string, string[]];

const expected = (row: Row): Expected => {
  const [, , verb, apiPrefix, apiGroup, apiVersion, namespace, resource, subresource, name, parts] = row;
  return { verb, apiPrefix, apiGroup, apiVersion, namespace, resource, subresource, name, parts };
};

function expectResource(row: Row): RequestAttributes {
  const attrs = parseRequestAttributes(row[0], row[1]);
  expect(attrs.isResourceRequest).toBe(true);
  expect(attrs).toMatchObject(expected(row));
  expect(attrs.path).toBe(row[1].split('?')[0]);
  return attrs;
}

describe('resource requests (kube TestGetAPIRequestInfo)', () => {
  const rows: Row[] = [
    // resource paths
    ['GET', '/api/v1/namespaces', 'list', 'api', '', 'v1', '', 'namespaces', '', '', ['namespaces']],
    ['GET', '/api/v1/namespaces/other', 'get', 'api', '', 'v1', 'other', 'namespaces', '', 'other', ['namespaces', 'other']],
    ['GET', '/api/v1/namespaces/other/pods', 'list', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
    ['GET', '/api/v1/namespaces/other/pods/foo', 'get', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
    ['HEAD', '/api/v1/namespaces/other/pods/foo', 'get', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
    ['GET', '/api/v1/pods', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    ['HEAD', '/api/v1/pods', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    // The namespace object carries its own name as namespace (v1.34 code; an older revision
    // of kube's test table expected '' here for PATCH, the code has always set it).
    ['PATCH', '/api/v1/namespaces/new-namespace', 'patch', 'api', '', 'v1', 'new-namespace', 'namespaces', '', 'new-namespace', ['namespaces', 'new-namespace']],
    // special verbs in the path
    ['GET', '/api/v1/proxy/namespaces/other/pods/foo', 'proxy', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
    ['GET', '/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource', 'proxy', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo', 'subpath', 'not', 'a', 'subresource']],
    ['GET', '/api/v1/watch/pods', 'watch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    ['GET', '/api/v1/pods?watch=true', 'watch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    ['GET', '/api/v1/pods?watch=false', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    ['GET', '/api/v1/watch/namespaces/other/pods', 'watch', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
    ['GET', '/api/v1/namespaces/other/pods?watch=1', 'watch', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
    ['GET', '/api/v1/namespaces/other/pods?watch=0', 'list', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
    // subresources
    ['GET', '/api/v1/namespaces/other/pods/foo/status', 'get', 'api', '', 'v1', 'other', 'pods', 'status', 'foo', ['pods', 'foo', 'status']],
    ['GET', '/api/v1/namespaces/other/pods/foo/proxy/subpath', 'get', 'api', '', 'v1', 'other', 'pods', 'proxy', 'foo', ['pods', 'foo', 'proxy', 'subpath']],
    ['PUT', '/api/v1/namespaces/other/finalize', 'update', 'api', '', 'v1', 'other', 'namespaces', 'finalize', 'other', ['namespaces', 'other', 'finalize']],
    ['PUT', '/api/v1/namespaces/other/status', 'update', 'api', '', 'v1', 'other', 'namespaces', 'status', 'other', ['namespaces', 'other', 'status']],
    // verbs from methods
    ['PATCH', '/api/v1/namespaces/other/pods/foo', 'patch', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
    ['DELETE', '/api/v1/namespaces/other/pods/foo', 'delete', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
    ['POST', '/api/v1/namespaces/other/pods', 'create', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
    // deletecollection
    ['DELETE', '/api/v1/nodes', 'deletecollection', 'api', '', 'v1', '', 'nodes', '', '', ['nodes']],
    ['DELETE', '/api/v1/namespaces', 'deletecollection', 'api', '', 'v1', '', 'namespaces', '', '', ['namespaces']],
    ['DELETE', '/api/v1/namespaces/other/pods', 'deletecollection', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
    ['DELETE', '/apis/extensions/v1/namespaces/other/pods', 'deletecollection', 'apis', 'extensions', 'v1', 'other', 'pods', '', '', ['pods']],
    // groups and versions
    ['POST', '/apis/extensions/v1/namespaces/other/pods', 'create', 'apis', 'extensions', 'v1', 'other', 'pods', '', '', ['pods']],
    ['POST', '/apis/extensions/v1beta3/namespaces/other/pods', 'create', 'apis', 'extensions', 'v1beta3', 'other', 'pods', '', '', ['pods']],
  ];
  test.each(rows)('%s %s', (...row) => {
    expectResource(row);
  });
});

describe('resource requests beyond kube’s table', () => {
  const rows: Row[] = [
    ['GET', '/apis/apps/v1/namespaces/ns/deployments/web/scale', 'get', 'apis', 'apps', 'v1', 'ns', 'deployments', 'scale', 'web', ['deployments', 'web', 'scale']],
    ['GET', '/api/v1/nodes/n1', 'get', 'api', '', 'v1', '', 'nodes', '', 'n1', ['nodes', 'n1']],
    ['GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:aggregate-to-admin', 'get', 'apis', 'rbac.authorization.k8s.io', 'v1', '', 'clusterroles', '', 'system:aggregate-to-admin', ['clusterroles', 'system:aggregate-to-admin']],
    ['GET', '/api/v1/nodes/n1/proxy/metrics/cadvisor', 'get', 'api', '', 'v1', '', 'nodes', 'proxy', 'n1', ['nodes', 'n1', 'proxy', 'metrics', 'cadvisor']],
    ['GET', '/api/v1/namespaces/ns/services/https:web:443/proxy/healthz', 'get', 'api', '', 'v1', 'ns', 'services', 'proxy', 'https:web:443', ['services', 'https:web:443', 'proxy', 'healthz']],
    ['POST', '/api/v1/namespaces/ns/pods/p/exec?command=ls&stdout=true', 'create', 'api', '', 'v1', 'ns', 'pods', 'exec', 'p', ['pods', 'p', 'exec']],
    ['GET', '/api/v1/namespaces/ns/pods/p/exec?command=sh&stdin=true&tty=true', 'get', 'api', '', 'v1', 'ns', 'pods', 'exec', 'p', ['pods', 'p', 'exec']],
    ['GET', '/api/v1/namespaces/ns/pods/p/log?follow=true&container=c', 'get', 'api', '', 'v1', 'ns', 'pods', 'log', 'p', ['pods', 'p', 'log']],
    ['POST', '/api/v1/namespaces/ns/pods/p/portforward', 'create', 'api', '', 'v1', 'ns', 'pods', 'portforward', 'p', ['pods', 'p', 'portforward']],
    ['POST', '/api/v1/namespaces/ns/pods/p/eviction', 'create', 'api', '', 'v1', 'ns', 'pods', 'eviction', 'p', ['pods', 'p', 'eviction']],
    ['GET', '/apis/example.com/v1/watch/namespaces/ns/widgets/w1', 'watch', 'apis', 'example.com', 'v1', 'ns', 'widgets', '', 'w1', ['widgets', 'w1']],
    ['GET', '/api/v1/watch/namespaces', 'watch', 'api', '', 'v1', '', 'namespaces', '', '', ['namespaces']],
    ['GET', '/api/v1/watch/namespaces/ns', 'watch', 'api', '', 'v1', 'ns', 'namespaces', '', 'ns', ['namespaces', 'ns']],
    // the namespace's own subresources exist in every group/version, as kube parses them
    ['GET', '/apis/g.io/v1/namespaces/ns/status', 'get', 'apis', 'g.io', 'v1', 'ns', 'namespaces', 'status', 'ns', ['namespaces', 'ns', 'status']],
    ['GET', '/api/v1/namespaces/ns/status/extra', 'get', 'api', '', 'v1', 'ns', 'namespaces', 'status', 'ns', ['namespaces', 'ns', 'status', 'extra']],
    ['GET', '/api/v1/namespaces/status/pods', 'list', 'api', '', 'v1', 'status', 'pods', '', '', ['pods']],
    // the path decides the verb whatever the method
    ['POST', '/api/v1/watch/pods', 'watch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    ['DELETE', '/api/v1/proxy/nodes/n1', 'proxy', 'api', '', 'v1', '', 'nodes', '', 'n1', ['nodes', 'n1']],
    // methods kube has no verb for, and method case (Go compares exactly)
    ['OPTIONS', '/api/v1/pods', '', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    ['CONNECT', '/api/v1/namespaces/ns/pods/p/exec', '', 'api', '', 'v1', 'ns', 'pods', 'exec', 'p', ['pods', 'p', 'exec']],
    ['get', '/api/v1/pods', '', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    // a name is taken literally, dots included
    ['GET', '/api/v1/namespaces/ns/configmaps/foo.', 'get', 'api', '', 'v1', 'ns', 'configmaps', '', 'foo.', ['configmaps', 'foo.']],
    ['GET', '/api/v1/namespaces/ns/configmaps/...', 'get', 'api', '', 'v1', 'ns', 'configmaps', '', '...', ['configmaps', '...']],
    // kube's GetNonAPIRequestInfo "resource" cases
    ['GET', '/api/version/resource', 'list', 'api', '', 'version', '', 'resource', '', '', ['resource']],
    ['GET', '/apis/group/version/resource/name/subresource', 'get', 'apis', 'group', 'version', '', 'resource', 'subresource', 'name', ['resource', 'name', 'subresource']],
    ['GET', '/apis/batch/v1/job/foo/scale', 'get', 'apis', 'batch', 'v1', '', 'job', 'scale', 'foo', ['job', 'foo', 'scale']],
  ];
  test.each(rows)('%s %s', (...row) => {
    expectResource(row);
  });

  test('a single trailing slash is trimmed for the split and kept in path, as kube does', () => {
    const attrs = parseRequestAttributes('GET', '/api/v1/namespaces/ns/pods/?watch=1');
    expect(attrs).toMatchObject({ path: '/api/v1/namespaces/ns/pods/', verb: 'watch', namespace: 'ns', resource: 'pods', parts: ['pods'] });
  });

  test('verbViaPathPrefix tells the deprecated /watch/ form from ?watch=true', () => {
    expect(parseRequestAttributes('GET', '/api/v1/watch/pods').verbViaPathPrefix).toBe(true);
    expect(parseRequestAttributes('GET', '/api/v1/proxy/nodes/n').verbViaPathPrefix).toBe(true);
    expect(parseRequestAttributes('GET', '/api/v1/pods?watch=true').verbViaPathPrefix).toBe(false);
  });

  test('the attributes are immutable', () => {
    const attrs = parseRequestAttributes('GET', '/api/v1/namespaces/ns/pods/p');
    expect(Object.isFrozen(attrs)).toBe(true);
    expect(Object.isFrozen(attrs.parts)).toBe(true);
  });
});

describe('non-resource requests (kube TestGetNonAPIRequestInfo)', () => {
  test.each([
    ['GET', '/', 'get'],
    ['GET', '/version', 'get'],
    ['GET', '/healthz', 'get'],
    ['HEAD', '/healthz', 'head'],
    ['GET', '/livez/ping', 'get'],
    ['GET', '/readyz/etcd', 'get'],
    ['GET', '/openapi/v2', 'get'],
    ['GET', '/openapi/v3/apis/apps/v1', 'get'],
    ['GET', '/metrics', 'get'],
    ['GET', '/logs/kube-apiserver.log', 'get'],
    ['GET', '/api', 'get'],
    ['GET', '/api/v1', 'get'],
    ['GET', '/api/version', 'get'],
    ['GET', '/apis', 'get'],
    ['GET', '/apis/apps', 'get'],
    ['GET', '/apis/extensions/v1beta1', 'get'],
    ['GET', '/apis/extensions/v1beta1/', 'get'],
    ['GET', '/api/version/', 'get'],
    ['GET', '/apis/group/version/', 'get'],
    ['GET', '/badprefix/version/resource', 'get'],
    ['GET', '/not-api/version/resource', 'get'],
    ['GET', '/apis/version/resource', 'get'],
    ['GET', '/API/v1/pods', 'get'],
    ['POST', '/version', 'post'],
    ['OPTIONS', '/api', 'options'],
    ['PROPFIND', '/apis', 'propfind'],
  ])('%s %s', (method, target, verb) => {
    const attrs = parseRequestAttributes(method, target);
    expect(attrs).toEqual({
      isResourceRequest: false,
      path: target,
      verb,
      apiPrefix: '',
      apiGroup: '',
      apiVersion: '',
      namespace: '',
      resource: '',
      subresource: '',
      name: '',
      parts: [],
      verbViaPathPrefix: false,
    });
  });

  test('the query does not change a non-resource path', () => {
    expect(parseRequestAttributes('GET', '/version?timeout=32s')).toMatchObject({ isResourceRequest: false, path: '/version' });
    expect(parseRequestAttributes('GET', '/apis?/api/v1/pods')).toMatchObject({ isResourceRequest: false, path: '/apis' });
  });
});

describe('list, watch and names from the query (kube TestSelectorParsing)', () => {
  const cases: Array<[string, string, string, string]> = [
    // [method, target, verb, name]
    ['GET', '/apis/group/version/resource', 'list', ''],
    ['GET', '/apis/group/version/resource?fieldSelector=metadata.name=name1', 'list', 'name1'],
    ['GET', '/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1', 'watch', 'name1'],
    ['GET', '/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux', 'list', ''],
    ['GET', '/apis/group/version/resource?fieldSelector=metadata.name=name1,foo', 'list', ''],
    ['GET', '/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true', 'watch', ''],
    ['GET', '/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false', 'list', ''],
    ['DELETE', '/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux', 'deletecollection', ''],
    ['GET', '/apis/group/version/resource?fieldSelector=metadata.name=foo&fieldSelector=metadata.name=bar&labelSelector=foo=bar&labelSelector=foo=baz', 'list', 'foo'],
    ['GET', '/apis/group/version/resource/name?fieldSelector=foo=bar&labelSelector=foo=bar', 'get', 'name'],
    ['GET', '/apis/group/version/watch/resource?fieldSelector=metadata.name=foo&labelSelector=foo=bar', 'watch', ''],
    ['GET', '/apis/group/version/watch/resource/name?fieldSelector=metadata.name=foo&labelSelector=foo=bar', 'watch', 'name'],
  ];
  test.each(cases)('%s %s', (method, target, verb, name) => {
    expect(parseRequestAttributes(method, target)).toMatchObject({ verb, name });
  });
});

describe('query decoding on the way to list or watch', () => {
  const base = '/api/v1/namespaces/ns/pods';
  test.each([
    // watch values: anything but 0 / false (any case) is true, the first value counts
    ['watch=', 'watch', ''],
    ['watch', 'watch', ''],
    ['watch=FALSE', 'list', ''],
    ['watch=False', 'list', ''],
    ['watch=yes', 'watch', ''],
    ['watch=true&watch=false', 'watch', ''],
    ['watch=false&watch=true', 'list', ''],
    ['wat%63h=tru%65', 'watch', ''],
    // EqualFold folds U+017F (long s) onto "s" when the options decode ...
    ['watch=fal%C5%BFe', 'list', ''],
    // ... but kube's fallback after a decoding error lowercases instead, and does not fold it
    ['watch=fal%C5%BFe&limit=x', 'watch', ''],
    // field selectors: operators, escapes, sorting, validity of the name
    ['fieldSelector=metadata.name==foo', 'list', 'foo'],
    ['fieldSelector=metadata.name!=foo', 'list', ''],
    ['fieldSelector=metadata.name=b,metadata.name=a', 'list', 'a'],
    ['fieldSelector=metadata.namespace=x,metadata.name=y', 'list', 'y'],
    ['fieldSelector=metadata.name!=a,metadata.name=b', 'list', 'b'],
    ['fieldSelector=metadata.name=a\\,b', 'list', 'a,b'],
    ['fieldSelector=metadata.name=a\\=b\\\\', 'list', 'a=b\\'],
    ['fieldSelector=metadata.name=a\\x', 'list', ''],
    ['fieldSelector=metadata.name=a=b', 'list', ''],
    ['fieldSelector=metadata.name=a%2Fb', 'list', ''],
    ['fieldSelector=metadata.name=a%25b', 'list', ''],
    ['fieldSelector=metadata.name=..', 'list', ''],
    ['fieldSelector=metadata.name=...', 'list', '...'],
    ['fieldSelector=metadata.name=a+b', 'list', 'a b'],
    ['fieldSelector=metadata.name=%C3%A9t%C3%A9', 'list', 'été'],
    ['fieldSelector=metadata.name=%FF', 'list', ''],
    ['fieldSelector=metadata.name=', 'list', ''],
    ['fieldSelector=,metadata.name=x,', 'list', 'x'],
    ['fieldSelector=nonsense', 'list', ''],
    // other ListOptions that must decode for the selector to count
    ['fieldSelector=metadata.name=x&limit=500&resourceVersion=0&timeoutSeconds=32', 'list', 'x'],
    ['fieldSelector=metadata.name=x&limit=-1&timeoutSeconds=%2B5', 'list', 'x'],
    ['fieldSelector=metadata.name=x&limit=abc', 'list', ''],
    ['fieldSelector=metadata.name=x&limit=', 'list', ''],
    ['fieldSelector=metadata.name=x&limit=9223372036854775807', 'list', 'x'],
    ['fieldSelector=metadata.name=x&limit=9223372036854775808', 'list', ''],
    ['fieldSelector=metadata.name=x&timeoutSeconds=1.5', 'list', ''],
    ['fieldSelector=metadata.name=x&timeout=32s&allowWatchBookmarks=maybe&sendInitialEvents=x', 'list', 'x'],
    ['fieldSelector=metadata.name=x&limit=abc&watch=1', 'watch', ''],
    // label selectors: kube parses them, and a bad one fails the whole decoding
    ['fieldSelector=metadata.name=x&labelSelector=app%20in%20(a,b),!legacy,tier', 'list', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=app.kubernetes.io/name=web,env!=prod', 'list', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=app%20notin%20()', 'list', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=app%20in%20(a,,b,)', 'list', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=weight%3E5', 'list', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=weight%3Cheavy', 'list', ''],
    ['fieldSelector=metadata.name=x&labelSelector=app=a+b', 'list', ''],
    ['fieldSelector=metadata.name=x&labelSelector=_app=a', 'list', ''],
    ['fieldSelector=metadata.name=x&labelSelector=a/b/c=d', 'list', ''],
    ['fieldSelector=metadata.name=x&labelSelector=app=a,', 'list', ''],
    ['fieldSelector=metadata.name=x&labelSelector=app%20in%20a', 'list', ''],
    ['fieldSelector=metadata.name=x&labelSelector=app=-bad', 'list', ''],
    ['fieldSelector=metadata.name=x&labelSelector=app==', 'list', 'x'],
  ])('?%s -> %s %j', (query, verb, name) => {
    expect(parseRequestAttributes('GET', `${base}?${query}`)).toMatchObject({ verb, name });
  });

  test('a named get ignores watch and selectors', () => {
    expect(parseRequestAttributes('GET', `${base}/foo?watch=true&fieldSelector=metadata.name=bar`)).toMatchObject({ verb: 'get', name: 'foo' });
  });

  test('HEAD lists and takes the selector name like GET', () => {
    expect(parseRequestAttributes('HEAD', `${base}?fieldSelector=metadata.name=foo`)).toMatchObject({ verb: 'list', name: 'foo' });
  });

  test('a selector never names the object of a delete, which stays a deletecollection', () => {
    expect(parseRequestAttributes('DELETE', `${base}?fieldSelector=metadata.name=foo`)).toMatchObject({ verb: 'deletecollection', name: '' });
  });

  test('a second ? is query data, not a new path', () => {
    const attrs = parseRequestAttributes('GET', '/api/v1/pods?x=/api/v1/secrets?watch=1&watch=0');
    expect(attrs).toMatchObject({ path: '/api/v1/pods', resource: 'pods', verb: 'list' });
  });
});

describe('parseGoQuery (Go url.ParseQuery as URL.Query() uses it)', () => {
  test('drops what Go drops, decodes + and %XX, keeps values in order', () => {
    const query = parseGoQuery('a=1&b&c=%zz&%zz=c&d=x;y&&e=%41+%42&a=2&=v&f=%e9');
    expect([...query]).toEqual([
      ['a', ['1', '2']],
      ['b', ['']],
      ['e', ['A B']],
      ['', ['v']],
      ['f', ['\u00e9']],
    ]);
  });
});

describe('isPrivilegedSubresource', () => {
  test.each([
    ['GET', '/api/v1/namespaces/ns/pods/p/exec?command=sh', true],
    ['POST', '/api/v1/namespaces/ns/pods/p/exec?command=sh', true],
    ['GET', '/api/v1/namespaces/ns/pods/p/attach', true],
    ['POST', '/api/v1/namespaces/ns/pods/p/portforward', true],
    ['GET', '/api/v1/namespaces/ns/pods/p/proxy/admin', true],
    ['GET', '/api/v1/nodes/n1/proxy/configz', true],
    ['GET', '/api/v1/namespaces/ns/services/web:80/proxy/', true],
    ['GET', '/api/v1/proxy/nodes/n1/pods', true],
    ['GET', '/apis/example.com/v1/namespaces/ns/pods/p/exec', true],
    ['GET', '/api/v1/namespaces/ns/pods/p/log', false],
    ['GET', '/api/v1/namespaces/ns/pods/p/status', false],
    ['GET', '/api/v1/namespaces/ns/pods/exec', false],
    ['GET', '/api/v1/namespaces/ns/configmaps/c/exec', false],
    ['GET', '/apis/apps/v1/namespaces/ns/deployments/d/scale', false],
    ['GET', '/api/v1/nodes/n1', false],
    ['GET', '/api', false],
    ['GET', '/healthz', false],
  ])('%s %s -> %s', (method, target, privileged) => {
    expect(isPrivilegedSubresource(parseRequestAttributes(method, target))).toBe(privileged);
  });
});

describe('refused request targets', () => {
  const cases: Array<[string, string, RequestPathRejection, RegExp]> = [
    // [method, target, reason, message]
    ['GET', '', 'not-origin-form', /must start with '\/', but it is empty/],
    ['GET', 'api/v1/pods', 'not-origin-form', /must start with '\/', but it does not/],
    ['GET', 'https://edge/api/v1/pods', 'not-origin-form', /only origin-form targets/],
    ['OPTIONS', '*', 'not-origin-form', /must start with '\/'/],
    ['GET', '/api/v1/namespaces/a%2Fb/pods', 'percent-encoding', /contains '%' at offset 20; percent-encoded characters are refused/],
    ['GET', '/api/v1/namespaces/a%2fb/pods', 'percent-encoding', /contains '%' at offset 20/],
    ['GET', '/api/v1/namespaces/%2E%2E/pods', 'percent-encoding', /contains '%' at offset 19/],
    ['GET', '/api/v1/namespaces/%2e/pods', 'percent-encoding', /kube-apiserver decodes them before splitting/],
    ['GET', '/api/v1/p%6Fds', 'percent-encoding', /contains '%' at offset 9/],
    ['GET', '/api/v1/pods%', 'percent-encoding', /contains '%' at offset 12/],
    ['GET', '/api/v1/namespaces/ns/pods/..', 'dot-segment', /segment 6 is '\.\.'; dot segments are resolved by Envoy/],
    ['GET', '/api/v1/namespaces/a/../kube-system/secrets', 'dot-segment', /segment 5 is '\.\.'/],
    ['GET', '/api/v1/./pods', 'dot-segment', /segment 3 is '\.'/],
    ['GET', '/./version', 'dot-segment', /segment 1 is '\.'/],
    ['GET', '//api/v1/pods', 'empty-segment', /empty segment \('\/\/'\) at segment 1/],
    ['GET', '/api//v1/pods', 'empty-segment', /empty segment \('\/\/'\) at segment 2/],
    ['GET', '/api/v1/pods//', 'empty-segment', /at segment 4; kube-apiserver, Envoy and a plain split/],
    ['GET', '//', 'empty-segment', /at segment 1/],
    ['GET', '/api/v1\\namespaces', 'backslash', /contains a backslash at offset 7/],
    ['GET', '/api/v1/pods\\', 'backslash', /backslash at offset 12; some servers and normalisers treat it as '\/'/],
    ['GET', '/api/v1/pods\n', 'control-character', /control character 0x0A at offset 12/],
    ['GET', '/api/v1/pods?watch=\t1', 'control-character', /control character 0x09 at offset 19/],
    ['GET', '/api/v1/po\u0000ds', 'control-character', /control character 0x00 at offset 10; Go's net\/url refuses/],
    ['GET', '/api/v1/pods\u007f', 'control-character', /control character 0x7F/],
    ['GET', '/api/v1/p\u00f6ds', 'non-ascii', /non-ASCII character \(U\+00F6\) at offset 9/],
    ['GET', '/api/v1/pods?x=\u00e9', 'non-ascii', /non-ASCII character \(U\+00E9\) at offset 15; clients percent-encode/],
    ['GET', '/api/v1/pods#secrets', 'fragment', /contains '#' at offset 12; a fragment is never sent/],
    ['GET', '/api/v1/pods?watch=true#x', 'fragment', /'#' at offset 23/],
    ['GET', '/api/v1/my pods', 'invalid-character', /contains " " at offset 10, which must be percent-encoded/],
    ['GET', '/api/v1/"pods"', 'invalid-character', /contains "\\"" at offset 8/],
    ['GET', '/api/v1/<pods>', 'invalid-character', /contains "<"/],
    ['GET', '/api/v1/pods[0]', 'invalid-character', /contains "\["/],
    ['GET', '/api/v1/pods^', 'invalid-character', /contains "\^"/],
    ['GET', '/api/v1/pods`', 'invalid-character', /contains "`"/],
    ['GET', '/api/v1/{pods}', 'invalid-character', /contains "{"/],
    ['GET', '/api/v1/pods|x', 'invalid-character', /contains "\|"/],
    ['GET ', '/api/v1/pods', 'invalid-method', /HTTP method "GET " is not a valid method token/],
    ['', '/api/v1/pods', 'invalid-method', /HTTP method "" is not a valid method token/],
    ['GE\nT', '/api/v1/pods', 'invalid-method', /HTTP method "GE\\nT"/],
    ['GET/1.1', '/api/v1/pods', 'invalid-method', /not a valid method token \(RFC 9110\)/],
    ['GET', '/api/v1/pods?watch=true;x=1', 'query-semicolon', /query contains ';' at offset 23; parsers disagree on it/],
    ['GET', '/api/v1/pods?x=1&watch=false;watch=true', 'query-semicolon', /';' at offset 28/],
    ['GET', '/api/v1/pods?watch=%zz', 'malformed-query-escape', /'%' that does not start a %XX escape at offset 19; parsers disagree/],
    ['GET', '/api/v1/pods?x=%4', 'malformed-query-escape', /at offset 15/],
    ['GET', '/api/v1/pods?x=%', 'malformed-query-escape', /at offset 15/],
    ['GET', `/api/v1/pods?fieldSelector=metadata.name=x${'&'.repeat(MAX_QUERY_PARAMETERS)}`, 'too-many-query-parameters', /query has 1001 parameters, more than the 1000 accepted; Go's url.ParseQuery drops every parameter/],
    ['GET', '/api/v1/watch', 'no-resource', /request path \/api\/v1\/watch names the 'watch' verb but no resource after it/],
    ['GET', '/api/v1/watch/', 'no-resource', /names the 'watch' verb but no resource/],
    ['GET', '/apis/apps/v1/proxy', 'no-resource', /names the 'proxy' verb but no resource/],
  ];
  test.each(cases)('%j %j is refused (%s)', (method, target, reason, message) => {
    let caught: unknown;
    try {
      parseRequestAttributes(method, target);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RequestPathError);
    const error = caught as RequestPathError;
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('ERR_REQUEST_PATH');
    expect(error.name).toBe('RequestPathError');
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
  });

  test('up to MAX_QUERY_PARAMETERS parameters are accepted', () => {
    const target = `/api/v1/pods?fieldSelector=metadata.name=x${'&'.repeat(MAX_QUERY_PARAMETERS - 1)}`;
    expect(parseRequestAttributes('GET', target)).toMatchObject({ verb: 'list', name: 'x' });
  });

  test('a % in the query is decoded as Go decodes it, not refused', () => {
    expect(parseRequestAttributes('GET', '/api/v1/pods?fieldSelector=metadata.name%3Dfoo')).toMatchObject({ verb: 'list', name: 'foo' });
  });
});

describe('stripClusterPrefix', () => {
  test.each([
    ['/clusters/dev/api/v1/pods?watch=1', 'dev', '/api/v1/pods?watch=1'],
    ['/clusters/dev/api/v1/namespaces/ns/pods/p/exec?command=sh', 'dev', '/api/v1/namespaces/ns/pods/p/exec?command=sh'],
    ['/clusters/dev', 'dev', '/'],
    ['/clusters/dev/', 'dev', '/'],
    ['/clusters/dev?timeout=32s', 'dev', '/?timeout=32s'],
    ['/clusters/prod-eu-1/version', 'prod-eu-1', '/version'],
    ['/clusters/0/apis', '0', '/apis'],
  ])('%s', (target, cluster, rest) => {
    expect(stripClusterPrefix(target)).toEqual({ cluster, rest });
  });

  test.each(['/', '/clusters', '/clusters/', '/clusterz/dev/api', '/Clusters/dev/api', '/api/v1/pods', '/clusters/Dev/api', '/clusters/a.b/api', '/clusters/-dev/api', `/clusters/${'a'.repeat(64)}/api`])(
    '%s names no cluster',
    (target) => {
      expect(stripClusterPrefix(target)).toBeNull();
    },
  );

  test.each<[string, RequestPathRejection]>([
    ['/clusters/%64ev/api/v1/pods', 'percent-encoding'],
    ['/clusters/dev%2F..%2Fprod/api', 'percent-encoding'],
    ['/clusters/../prod/api/v1/secrets', 'dot-segment'],
    ['/clusters/./dev/api', 'dot-segment'],
    ['/clusters/dev/../prod/api', 'dot-segment'],
    ['/clusters//dev/api', 'empty-segment'],
    ['//clusters/dev/api', 'empty-segment'],
    ['/clusters/dev\\..\\prod/api', 'backslash'],
    ['/clusters/dev\r\n/api', 'control-character'],
    ['/clusters/d\u0435v/api', 'non-ascii'],
    ['/clusters/dev#/api', 'fragment'],
    ['clusters/dev/api', 'not-origin-form'],
  ])('%j is refused (%s)', (target, reason) => {
    expect(() => stripClusterPrefix(target)).toThrow(RequestPathError);
    expect(() => stripClusterPrefix(target)).toThrow(expect.objectContaining({ reason }));
  });

  test('the rest parses as the request the cluster receives', () => {
    const stripped = stripClusterPrefix('/clusters/dev/api/v1/namespaces/ns/pods?watch=true');
    expect(stripped).not.toBeNull();
    expect(parseRequestAttributes('GET', stripped!.rest)).toMatchObject({ verb: 'watch', namespace: 'ns', resource: 'pods' });
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over generated paths. A small seeded generator stands in for fast-check; a failure
// message names the seed and the generated target so it can be replayed.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const GROUPS = ['apps', 'batch', 'rbac.authorization.k8s.io', 'example.com', 'watch', 'namespaces', 'metrics.k8s.io'];
const VERSIONS = ['v1', 'v1beta1', 'v2alpha3', 'version'];
// resource names that are not special where they appear (watch/proxy after the version,
// namespaces, status and finalize after a namespace)
const CLUSTER_RESOURCES = ['nodes', 'pods', 'clusterroles', 'persistentvolumes', 'widgets', 'status', 'finalize', 'customresourcedefinitions'];
const NAMESPACED_RESOURCES = ['pods', 'services', 'configmaps', 'secrets', 'deployments', 'jobs', 'widgets', 'events'];
const NAMES = ['foo', 'web-1', 'a.b', 'foo.', '...', '.hidden', 'system:admin', 'watch', 'proxy', 'namespaces', 'status', 'x@y', "it's", 'a+b', 'a=b', 'a;b', '~x', '*', 'A_B', 'v1'];
const NAMESPACES = ['default', 'kube-system', 'team-a', 'status', 'finalize', 'watch', 'namespaces', 'proxy'];
const SUBRESOURCES = ['status', 'scale', 'exec', 'attach', 'portforward', 'proxy', 'log', 'eviction', 'binding', 'ephemeralcontainers', 'finalize'];
const EXTRA = ['a', 'b.txt', 'metrics', 'x:y'];
const SELECTOR_NAMES = ['foo', 'web-1', 'a.b', 'x'];
const WATCH_VALUES = ['true', '1', 'false', '0', 'TRUE', 'False', '', 'yes'];
const OTHER_PARAMS = ['limit=500', 'resourceVersion=0', 'timeout=32s', 'allowWatchBookmarks=true', 'timeoutSeconds=30', 'labelSelector=app%3Dweb'];
const NON_RESOURCE_PATHS = ['/', '/version', '/healthz', '/livez/etcd', '/readyz', '/openapi/v2', '/openapi/v3/apis/apps/v1', '/metrics', '/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/logs/x.log', '/.well-known/openid-configuration'];

interface Generated {
  readonly method: string;
  readonly path: string;
  readonly target: string;
  /** null for non-resource requests */
  readonly expect: (Expected & { verbViaPathPrefix: boolean }) | null;
}

function generateResourceRequest(g: Gen): Generated {
  const method = g.pick(METHODS);
  const prefix = g.pick(['api', 'apis'] as const);
  const group = prefix === 'apis' ? g.pick(GROUPS) : '';
  const version = g.pick(VERSIONS);
  const legacyVerb = g.pick(['', '', '', 'watch', 'proxy'] as const);
  const scope = g.pick(['cluster', 'namespaced', 'namespace-object'] as const);
  const segments: string[] = [prefix, ...(group ? [group] : []), version, ...(legacyVerb ? [legacyVerb] : [])];

  let namespace = '';
  let parts: string[];
  let name = '';
  let subresource = '';
  if (scope === 'namespace-object') {
    parts = ['namespaces'];
    if (g.bool(0.7)) {
      name = namespace = g.pick(NAMESPACES);
      parts.push(name);
      if (g.bool(0.4)) {
        subresource = g.pick(['status', 'finalize']);
        parts.push(subresource);
        if (g.bool(0.3)) parts.push(g.pick(EXTRA));
      }
    }
  } else {
    if (scope === 'namespaced') {
      namespace = g.pick(NAMESPACES);
      segments.push('namespaces', namespace);
    }
    parts = [g.pick(scope === 'cluster' ? CLUSTER_RESOURCES : NAMESPACED_RESOURCES)];
    if (g.bool(0.6)) {
      name = g.pick(NAMES);
      parts.push(name);
      if (g.bool(0.4)) {
        subresource = g.pick(SUBRESOURCES);
        parts.push(subresource);
        for (let i = g.int(3); i > 0; i--) parts.push(g.pick(EXTRA));
      }
    }
  }
  segments.push(...parts);
  const path = `/${segments.join('/')}`;

  const params: string[] = [];
  const watchValue = g.bool(0.4) ? g.pick(WATCH_VALUES) : undefined;
  if (watchValue !== undefined) params.push(`watch=${watchValue}`);
  const selectorName = g.bool(0.3) ? g.pick(SELECTOR_NAMES) : undefined;
  if (selectorName !== undefined) params.push(`fieldSelector=metadata.name%3D${selectorName}`);
  for (let i = g.int(3); i > 0; i--) params.push(g.pick(OTHER_PARAMS));
  const query = g.shuffle(params).join('&');
  const target = query || g.bool(0.1) ? `${path}?${query}` : path;

  // The expected verb, from the method and the query, independently of the parser.
  let verb: string;
  if (legacyVerb) verb = legacyVerb;
  else if (method === 'GET' || method === 'HEAD') {
    if (name) verb = 'get';
    else {
      verb = watchValue !== undefined && !['false', '0'].includes(watchValue.toLowerCase()) ? 'watch' : 'list';
      if (selectorName !== undefined) name = selectorName;
    }
  } else if (method === 'DELETE') verb = name ? 'delete' : 'deletecollection';
  else verb = ({ POST: 'create', PUT: 'update', PATCH: 'patch' } as Record<string, string>)[method] ?? '';
  if (legacyVerb === 'proxy') subresource = '';

  return {
    method,
    path,
    target,
    expect: {
      verb,
      apiPrefix: prefix,
      apiGroup: group,
      apiVersion: version,
      namespace,
      resource: parts[0]!,
      subresource,
      name,
      parts,
      verbViaPathPrefix: legacyVerb !== '',
    },
  };
}

function generateRequest(g: Gen): Generated {
  if (g.bool(0.85)) return generateResourceRequest(g);
  const method = g.pick(METHODS);
  const path = g.pick(NON_RESOURCE_PATHS);
  return { method, path, target: g.bool(0.3) ? `${path}?timeout=32s` : path, expect: null };
}

const ITERATIONS = 3000;

describe('properties of generated valid requests', () => {
  test('parse never throws, verbs are kube verbs, attributes match the generator, and the path round-trips', () => {
    let resourceRequests = 0;
    for (let seed = 1; seed <= ITERATIONS; seed++) {
      const g = new Gen(seed);
      const req = generateRequest(g);
      const context = `seed ${seed}: ${req.method} ${req.target}`;
      let attrs: RequestAttributes;
      try {
        attrs = parseRequestAttributes(req.method, req.target);
      } catch (err) {
        throw new Error(`${context} threw ${(err as Error).message}`);
      }
      try {
        expect(attrs.path).toBe(req.path);
        expect(formatRequestPath(attrs)).toBe(req.path);
        if (req.expect) {
          resourceRequests++;
          expect(attrs.isResourceRequest).toBe(true);
          expect(REQUEST_VERBS.has(attrs.verb)).toBe(true);
          expect({ ...attrs, parts: [...attrs.parts] }).toEqual({ isResourceRequest: true, path: req.path, ...req.expect });
        } else {
          expect(attrs.isResourceRequest).toBe(false);
          expect(attrs.verb).toBe(req.method.toLowerCase());
        }
      } catch (err) {
        throw new Error(`${context}\n${(err as Error).message}`);
      }
    }
    // the generator must actually exercise resource requests
    expect(resourceRequests).toBeGreaterThan(ITERATIONS * 0.7);
  });

  test('a cluster prefix on any generated request strips back to the request', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const g = new Gen(seed);
      const req = generateRequest(g);
      const cluster = g.pick(['dev', 'prod-eu-1', 'a', '0']);
      const prefixed = req.target === '/' ? `/clusters/${cluster}` : `/clusters/${cluster}${req.target}`;
      expect({ seed, stripped: stripClusterPrefix(prefixed) }).toEqual({ seed, stripped: { cluster, rest: req.target } });
    }
  });
});

type Trick = (g: Gen, target: string) => [string, RequestPathRejection];

const pathLength = (target: string) => (target.includes('?') ? target.indexOf('?') : target.length);
const insertAt = (s: string, at: number, text: string) => s.slice(0, at) + text + s.slice(at);
/** A position inside the path after the leading '/'. */
const inPath = (g: Gen, target: string) => 1 + g.int(pathLength(target));

const TRICKS: Record<string, Trick> = {
  'percent-escape': (g, t) => [insertAt(t, inPath(g, t), `%${g.pick(['2F', '2f', '2E', '2e', '5C', '41', '3A', '00', '25'])}`), 'percent-encoding'],
  'dot-segment': (g, t) => {
    const q = pathLength(t);
    const dots = g.pick(['.', '..']);
    if (q === 1) return [`/${dots}${t.slice(q)}`, 'dot-segment'];
    const segs = t.slice(0, q).split('/');
    segs[1 + g.int(segs.length - 1)] = dots;
    return [segs.join('/') + t.slice(q), 'dot-segment'];
  },
  'empty-segment': (g, t) => {
    const slashes = [...t.slice(0, pathLength(t))].flatMap((c, i) => (c === '/' ? [i] : []));
    return [insertAt(t, g.pick(slashes), '/'), 'empty-segment'];
  },
  backslash: (g, t) => [insertAt(t, inPath(g, t), '\\'), 'backslash'],
  'control-character': (g, t) => [insertAt(t, 1 + g.int(t.length), String.fromCharCode(g.bool(0.1) ? 0x7f : g.int(0x20))), 'control-character'],
  fragment: (g, t) => [insertAt(t, 1 + g.int(t.length), '#'), 'fragment'],
  'non-ascii': (g, t) => [insertAt(t, 1 + g.int(t.length), String.fromCharCode(0x80 + g.int(0xff00))), 'non-ascii'],
  'invalid-character': (g, t) => [insertAt(t, inPath(g, t), g.pick([' ', '"', '<', '>', '[', ']', '^', '`', '{', '|', '}'])), 'invalid-character'],
  'no-leading-slash': (_g, t) => [t.slice(1), 'not-origin-form'],
  'query-semicolon': (g, t) => {
    const q = t.indexOf('?');
    return [q === -1 ? `${t}?a=1;b=2` : insertAt(t, q + 1 + g.int(t.length - q), ';'), 'query-semicolon'];
  },
  'malformed-query-escape': (g, t) => [`${t}${t.includes('?') ? '&' : '?'}x=%${g.pick(['', '4', 'zz', 'g0'])}`, 'malformed-query-escape'],
  'too-many-query-parameters': (_g, t) => [`${t}${t.includes('?') ? '&' : '?'}${'&'.repeat(MAX_QUERY_PARAMETERS)}x=1`, 'too-many-query-parameters'],
};

describe('properties of generated forbidden requests', () => {
  test.each(Object.keys(TRICKS))('%s always throws RequestPathError', (trick) => {
    for (let seed = 1; seed <= 600; seed++) {
      const g = new Gen(seed * 7919);
      const req = generateRequest(g);
      const [target, reason] = TRICKS[trick]!(g, req.target);
      let caught: unknown;
      try {
        parseRequestAttributes(req.method, target);
      } catch (err) {
        caught = err;
      }
      expect({ seed, target, reason: caught instanceof RequestPathError ? caught.reason : String(caught) }).toEqual({ seed, target, reason });
    }
  });

  test.each(Object.keys(TRICKS))('%s in the cluster prefix always throws RequestPathError', (trick) => {
    for (let seed = 1; seed <= 300; seed++) {
      const g = new Gen(seed * 104729);
      const cluster = g.pick(['dev', 'prod-eu-1']);
      const [target, reason] = TRICKS[trick]!(g, `/clusters/${cluster}`);
      expect(() => stripClusterPrefix(`${target}/api/v1/pods`)).toThrow(expect.objectContaining({ reason }));
    }
  });
});
