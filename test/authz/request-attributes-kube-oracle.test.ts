/**
 * Differential test of the request parser (control-plane/authz/request-attributes.ts) against
 * Kubernetes itself: toolchain/request-info runs k8s.io/apiserver's RequestInfoFactory at the
 * pinned Kubernetes version, configured as kube-apiserver configures it, on the HTTP/1.1 bytes
 * of each request. Thousands of requests go through one oracle process.
 *
 * How the two sides are fed, and why that is the honest comparison:
 * - The edge's connection manager normalises the path (normalize_path, merge_slashes) and
 *   refuses escaped slashes (path_with_escaped_slashes_action REJECT_REQUEST) before any filter
 *   or route runs (control-plane/translator/listener.ts). The ext_authz Check request therefore
 *   carries the already-normalised :path, and the router forwards that same :path with only the
 *   route's prefix_rewrite applied (/clusters/<name>/ and /clusters/<name> become '/';
 *   control-plane/translator/routes.ts). The upstream protocol is HTTP/1.1
 *   (control-plane/translator/clusters.ts), so kube-apiserver's Go server reads that text as
 *   the request line's target.
 * - So for whatever string S Envoy hands to the Check service, kube-apiserver receives
 *   forwarded(S): the question is only whether both read S the same way. This test feeds S to
 *   kubegate's Check path (stripClusterPrefix, then parseRequestAttributes, as
 *   policy-authorizer.ts does) and forwarded(S), modelled independently below, to the oracle.
 * - The nasty inputs (%2F, %2e%2e, '.', '..', '//', backslashes, ...) are fed to both sides
 *   verbatim, as if normalisation had let them through. That is the worst case: whatever
 *   Envoy's normalisation turns a raw path into is itself a string this test could feed, and the
 *   parser must not depend on normalisation being configured (defence in depth).
 *
 * What counts:
 * - The parser accepts: kube must accept too, and every attribute rules see must be equal
 *   (isResourceRequest, path, verb, apiPrefix, apiGroup, apiVersion, namespace, resource,
 *   subresource, name, parts). One documented difference: for non-resource requests the parser
 *   reports apiPrefix '' where kube may leave "apis" (no authorizer reads it there). A mismatch
 *   on a forwarded request is a way around a rule, so the test lists every one.
 * - The parser refuses (fail-closed): the refusal must be a RequestPathError, the 400 the Check
 *   service answers, and never anything that could be mistaken for attributes; kube may well
 *   accept such a request (e.g. %2F decodes to '/'), which is the point of refusing it.
 */
import { spawn } from 'node:child_process';
import fc from 'fast-check';
import { stripClusterPrefix } from '../../control-plane/kubernetes-api/cluster-prefix';
import { parseRequestAttributes, type RequestAttributes } from '../../control-plane/kubernetes-api/request-attributes';
import { RequestPathError } from '../../control-plane/kubernetes-api/request-target-check';
import { loadToolchain, pinnedVersions } from '../../dev/toolchain/tools';
import { apiRequestSpecArb, joinPath, keywordSegmentsArb, methodArb, querySpecArb, targetOf, withQuery } from './support/request-generators';

const SEED = 0x6b756265;
const CLUSTER = 'dev';

interface Case {
  readonly method: string;
  /** What the Check service receives as :path (Envoy has already normalised it, if it would). */
  readonly edgeTarget: string;
  readonly origin: string;
}

/** kube's RequestInfo carries the same fields our attributes mirror. */
type KubeFields = 'isResourceRequest' | 'path' | 'verb' | 'apiPrefix' | 'apiGroup' | 'apiVersion' | 'namespace' | 'resource' | 'subresource' | 'name' | 'parts';
interface KubeInfo extends Pick<RequestAttributes, KubeFields> {
  /** Fields whose Go value is not valid UTF-8 (shown with U+FFFD in place of those bytes). */
  readonly invalidUtf8?: readonly string[];
}
type OracleAnswer = KubeInfo | { readonly error: string; readonly stage: 'http' | 'requestinfo' | 'input' };

type Ours = { readonly kind: 'refused'; readonly reason: string } | { readonly kind: 'no-cluster' } | { readonly kind: 'accepted'; readonly attrs: RequestAttributes };

/**
 * The route's prefix_rewrite, restated from the route table rather than taken from
 * stripClusterPrefix: prefix /clusters/<name>/ and exact path /clusters/<name> (query not part
 * of the match) both become '/', the query kept. null when no cluster route matches (the
 * catch-all answers 404 and nothing is forwarded).
 */
function forwardedTarget(target: string): string | null {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q);
  const prefix = `/clusters/${CLUSTER}/`;
  if (path.startsWith(prefix)) return `/${path.slice(prefix.length)}${query}`;
  if (path === prefix.slice(0, -1)) return `/${query}`;
  return null;
}

function ours(c: Case): Ours {
  try {
    const target = stripClusterPrefix(c.edgeTarget);
    if (!target) return { kind: 'no-cluster' };
    return { kind: 'accepted', attrs: parseRequestAttributes(c.method, target.rest) };
  } catch (err) {
    // Anything but RequestPathError would escape the Check service's handling: a failure here.
    if (!(err instanceof RequestPathError)) throw err;
    return { kind: 'refused', reason: err.reason };
  }
}

/** Runs every request through one oracle process: all lines in, one answer line per request out. */
function askOracle(binary: string, requests: ReadonlyArray<{ method: string; path: string; query: string | null }>): Promise<OracleAnswer[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`request-info exited with ${code}: ${err}`));
      const lines = Buffer.concat(out).toString('utf8').trimEnd().split('\n');
      if (lines.length !== requests.length) return reject(new Error(`request-info answered ${lines.length} lines for ${requests.length} requests: ${err}`));
      resolve(lines.map((line) => JSON.parse(line) as OracleAnswer));
    });
    child.stdin.end(requests.map((r) => JSON.stringify(r)).join('\n') + '\n');
  });
}

// ---------------------------------------------------------------------------------------------
// The cases

const edge = (target: string) => `/clusters/${CLUSTER}${target}`;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'get', 'Get', 'delete', 'post', 'PROPFIND'];

/** Hand-written targets (after /clusters/dev), each a shape some component reads specially. */
const NASTY_TARGETS: readonly string[] = [
  // encodings of '/', '.', '..' and other characters
  '/api/v1/namespaces/a%2Fb/pods',
  '/api/v1/namespaces/a/pods%2Fx',
  '/api/v1/namespaces/a/pods/x%2fexec',
  '/api/v1/namespaces/%2e%2e/pods',
  '/api/v1/namespaces/a/pods/%2E%2E/secrets',
  '/api/v1/namespaces/a/pods/%2e',
  '/api/v1/%70ods',
  '/api/v1/namespaces/a/pods/x%20y',
  '/api/v1/namespaces/a/pods/x%25',
  '/api/v1/namespaces/a/pods/x%zz',
  '/api/v1/namespaces/a/pods/x%5Cy',
  '/api%2Fv1/pods',
  '%2Fapi/v1/pods',
  // dot segments
  '/api/v1/namespaces/a/pods/..',
  '/api/v1/namespaces/a/pods/.',
  '/api/v1/namespaces/a/../b/pods',
  '/api/v1/./pods',
  '/./api/v1/pods',
  '/../api/v1/pods',
  '/api/v1/namespaces/a/pods/web/../../../secrets',
  '/..',
  '/.',
  // dots that are not dot segments
  '/api/v1/namespaces/a./pods/web.',
  '/api/v1/namespaces/a/pods/...',
  '/api/v1/namespaces/a/pods/.hidden/exec',
  '/apis/apps./v1/deployments',
  '/api/v1./pods',
  // slashes
  '/api/v1/namespaces/a//pods',
  '//api/v1/pods',
  '/api//v1/pods',
  '/api/v1/pods//',
  '/api/v1/pods/',
  '/api/v1/namespaces/a/pods/web/',
  '/api/v1/namespaces/a/pods/web/exec/',
  '/api/v1/namespaces/',
  '/api/v1/namespaces//',
  '/apis/apps/v1/',
  '/apis/apps/v1//deployments',
  '/',
  '//',
  '',
  '/api',
  '/api/',
  '/api/v1',
  '/apis',
  '/apis/apps',
  '/apis/apps/v1',
  // legacy verb paths
  '/api/v1/watch',
  '/api/v1/watch/',
  '/api/v1/proxy',
  '/api/v1/watch/pods',
  '/api/v1/watch/namespaces/a/pods',
  '/api/v1/watch/namespaces/a/pods/web',
  '/api/v1/watch/namespaces/a',
  '/api/v1/proxy/namespaces/a/pods/web',
  '/api/v1/proxy/namespaces/a/pods/web/exec',
  '/api/v1/proxy/nodes/n1/metrics',
  '/apis/apps/v1/watch/deployments',
  '/apis/apps/v1/watch',
  '/apis/watch/v1/pods',
  '/apis/apps/watch/pods',
  // namespaces and their subresources
  '/api/v1/namespaces',
  '/api/v1/namespaces/a',
  '/api/v1/namespaces/a/status',
  '/api/v1/namespaces/a/finalize',
  '/api/v1/namespaces/a/status/extra',
  '/api/v1/namespaces/a/namespaces/a',
  '/api/v1/namespaces/a/namespaces/b/status',
  '/api/v1/namespaces/namespaces/pods',
  '/api/v1/namespaces/status/pods',
  // privileged subresources
  '/api/v1/namespaces/a/pods/web/exec?command=sh&stdin=true&tty=true',
  '/api/v1/namespaces/a/pods/web/attach?stdin=true',
  '/api/v1/namespaces/a/pods/web/portforward?ports=80',
  '/api/v1/namespaces/a/pods/web/proxy/metrics',
  '/api/v1/namespaces/a/pods/web:8080/proxy/',
  '/api/v1/namespaces/a/services/https:web:443/proxy/x/y',
  '/api/v1/nodes/n1/proxy/logs/',
  '/api/v1/nodes/n1/proxy',
  '/api/v1/namespaces/a/pods/web/log?follow=true',
  '/api/v1/namespaces/a/pods/web/exec/extra',
  '/apis/example.com/v1/namespaces/a/pods/web/exec',
  // characters
  '/api/v1/namespaces/a/pods/web\\exec',
  '/api/v1/namespaces/a/pods/a b',
  '/api/v1/namespaces/a/pods/a"b',
  '/api/v1/namespaces/a/pods/a<b>',
  '/api/v1/namespaces/a/pods/a{b}',
  '/api/v1/namespaces/a/pods/a|b',
  '/api/v1/namespaces/a/pods/a^b',
  '/api/v1/namespaces/a/pods/a`b',
  '/api/v1/namespaces/a/pods/a[b]',
  '/api/v1/namespaces/a/pods/web#frag',
  '/api/v1/namespaces/a/pods/web?x#frag',
  "/api/v1/namespaces/a/pods/it's;x=y,z(1)!*$&+",
  '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:controller:foo',
  '/api/v1/namespaces/a/pods/user@example',
  '/api/v1/namespaces/a/pods/é',
  '/api/v1/namespaces/a/pods/\t',
  // queries: list versus watch, names from selectors
  '/api/v1/pods?watch=true',
  '/api/v1/pods?watch=1',
  '/api/v1/pods?watch=false',
  '/api/v1/pods?watch=0',
  '/api/v1/pods?watch=FALSE',
  '/api/v1/pods?watch',
  '/api/v1/pods?watch=',
  '/api/v1/pods?watch=yes&watch=false',
  '/api/v1/pods?watch=false&watch=true',
  '/api/v1/pods?Watch=true',
  '/api/v1/pods?watch=%66alse',
  '/api/v1/pods?watch=+false',
  '/api/v1/pods?watch=true;x=1',
  '/api/v1/pods?x=1;watch=true',
  '/api/v1/pods?watch=true&limit=abc',
  '/api/v1/pods?watch=false&limit=abc',
  '/api/v1/pods?watch=1&labelSelector=a%3D%3D',
  '/api/v1/pods?watch=1&fieldSelector=bad',
  '/api/v1/pods?watch=%zz',
  '/api/v1/pods?watch=1%',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name=web',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3D%3Dweb',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%21%3Dweb',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dweb%2Cmetadata.name%3Dother',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.namespace%3Da%2Cmetadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3D..',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Da%2Fb',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Da%25b',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Da%5C%2Cb',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dweb&watch=1',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dweb&limit=x',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dweb&fieldSelector=metadata.name%3Dother',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3D%FF',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3D%C3%A9',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3D%C3%A9%2Cx%3D1',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dweb;',
  '/api/v1/namespaces/a/pods/?fieldSelector=metadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?labelSelector=app+in+%28a%2Cb%29&fieldSelector=metadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?labelSelector=app%3E1&fieldSelector=metadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?labelSelector=app%3Ex&fieldSelector=metadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?timeoutSeconds=9223372036854775808&fieldSelector=metadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?timeoutSeconds=-9223372036854775808&fieldSelector=metadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?limit=%2B5&fieldSelector=metadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?limit=0x10&fieldSelector=metadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?resourceVersion=abc&fieldSelector=metadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dweb?x=1',
  '/api/v1/namespaces/a/pods??fieldSelector=metadata.name%3Dweb',
  '/api/v1/namespaces/a/pods?&&fieldSelector=metadata.name%3Dweb&&',
  '/api/v1/namespaces/a/pods?',
  '/clusters/x/api/v1/pods',
  `/api/v1/pods?${'&'.repeat(999)}fieldSelector=metadata.name%3Dweb`,
  `/api/v1/pods?${'&'.repeat(1000)}fieldSelector=metadata.name%3Dweb`,
  `/api/v1/pods?fieldSelector=metadata.name%3Dweb${'&x'.repeat(10000)}`,
];

/** Tricks spliced into valid targets at a segment boundary. */
const SPLICES = ['%2F', '%2f', '%2e%2e', '%2E', '..', '.', '', './', '../', 'x/..', '%252F', '\\', '%5C', ';', '%3B', 'a%00', '~', ':'];

function spliceAt(target: string, segmentIndex: number, piece: string, mode: 'replace' | 'insert' | 'append'): string {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q);
  const segments = path.split('/').slice(1);
  const i = segmentIndex % Math.max(segments.length, 1);
  if (mode === 'replace') segments[i] = piece;
  else if (mode === 'insert') segments.splice(i, 0, piece);
  else segments[i] = (segments[i] ?? '') + piece;
  return `/${segments.join('/')}${query}`;
}

function buildCases(): Case[] {
  const cases: Case[] = [];
  for (const method of METHODS) {
    for (const t of NASTY_TARGETS) cases.push({ method, edgeTarget: edge(t), origin: 'nasty' });
  }
  // The cluster prefix itself, and tricks around it.
  for (const t of ['/clusters/dev', '/clusters/dev/', '/clusters/dev?watch=1', '/clusters/dev/?x', '/clusters/dev/.', '/clusters/dev/../prod/api/v1/pods', '/clusters/dev%2Fapi/v1/pods', '/clusters//dev/api/v1/pods', '/clusters/dev//api/v1/pods', '/clusters/dev./api/v1/pods', '/clusters/Dev/api/v1/pods']) {
    cases.push({ method: 'GET', edgeTarget: t, origin: 'prefix' });
  }
  // Valid requests as the generators build them, with every method the generators know.
  const specs = fc.sample(apiRequestSpecArb, { seed: SEED, numRuns: 3000 });
  for (const spec of specs) cases.push({ method: spec.method, edgeTarget: edge(targetOf(spec)), origin: 'generated' });
  // Those requests with one trick spliced in.
  const spliced = fc.sample(fc.tuple(apiRequestSpecArb, fc.nat(12), fc.constantFrom(...SPLICES), fc.constantFrom('replace' as const, 'insert' as const, 'append' as const)), { seed: SEED + 1, numRuns: 3000 });
  for (const [spec, index, piece, mode] of spliced) cases.push({ method: spec.method, edgeTarget: edge(spliceAt(targetOf(spec), index, piece, mode)), origin: 'spliced' });
  // Keyword-dense segment sequences: the words kube's parse reacts to, in every order.
  const keyworded = fc.sample(fc.tuple(methodArb, keywordSegmentsArb, fc.boolean(), querySpecArb), { seed: SEED + 2, numRuns: 3000 });
  for (const [method, segments, trailingSlash, query] of keyworded) cases.push({ method, edgeTarget: edge(withQuery(joinPath(segments, trailingSlash), query)), origin: 'keywords' });
  return cases;
}

// ---------------------------------------------------------------------------------------------

interface Outcome {
  readonly c: Case;
  readonly ours: Ours;
  /** null when no cluster route matches and nothing is forwarded. */
  readonly forwarded: string | null;
  readonly kube: OracleAnswer | null;
}

const isError = (a: OracleAnswer): a is Extract<OracleAnswer, { error: string }> => 'error' in a;

/** The attributes rules see, from each side, for comparison. */
function comparable(a: RequestAttributes | KubeInfo): KubeInfo {
  return {
    isResourceRequest: a.isResourceRequest,
    path: a.path,
    verb: a.verb,
    // documented difference: the parser leaves apiPrefix empty for non-resource requests
    apiPrefix: a.isResourceRequest ? a.apiPrefix : '',
    apiGroup: a.apiGroup,
    apiVersion: a.apiVersion,
    namespace: a.namespace,
    resource: a.resource,
    subresource: a.subresource,
    name: a.name,
    parts: [...a.parts],
  };
}

let outcomes: Outcome[];

beforeAll(async () => {
  const binary = loadToolchain().requestInfo;
  const cases = buildCases();
  const forwarded = cases.map((c) => forwardedTarget(c.edgeTarget));
  const requests: Array<{ method: string; path: string; query: string | null }> = [];
  const index: number[] = [];
  forwarded.forEach((target, i) => {
    if (target === null) return index.push(-1);
    const q = target.indexOf('?');
    index.push(requests.length);
    requests.push({ method: cases[i]!.method, path: q === -1 ? target : target.slice(0, q), query: q === -1 ? null : target.slice(q + 1) });
  });
  const answers = await askOracle(binary, requests);
  outcomes = cases.map((c, i) => ({ c, ours: ours(c), forwarded: forwarded[i]!, kube: index[i]! === -1 ? null : answers[index[i]!]! }));
}, 120_000);

describe('request parser versus kube-apiserver (k8s.io/apiserver RequestInfoFactory as oracle)', () => {
  test('the oracle was built against k8s.io/apiserver at the pinned Kubernetes version', async () => {
    const version = await new Promise<string>((resolve, reject) => {
      const child = spawn(loadToolchain().requestInfo, ['--version']);
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(out.trim()));
    });
    expect(version).toBe(`k8s.io/apiserver v0.${pinnedVersions().KUBERNETES_VERSION!.replace(/^1\./, '')}`);
  });

  test('enough cases of every kind reached both sides', () => {
    const count = (pred: (o: Outcome) => boolean) => outcomes.filter(pred).length;
    expect(outcomes.length).toBeGreaterThan(10_000);
    const accepted = count((o) => o.ours.kind === 'accepted');
    const refused = count((o) => o.ours.kind === 'refused');
    expect(accepted).toBeGreaterThan(5_000);
    expect(refused).toBeGreaterThan(1_000);
    // the oracle answered with attributes for most requests, resource and non-resource alike
    expect(count((o) => o.kube !== null && !isError(o.kube) && o.kube.isResourceRequest)).toBeGreaterThan(5_000);
    expect(count((o) => o.kube !== null && !isError(o.kube) && !o.kube.isResourceRequest)).toBeGreaterThan(100);
    // and kube accepts much of what the parser refuses: those refusals are deliberate
    expect(count((o) => o.ours.kind === 'refused' && o.kube !== null && !isError(o.kube))).toBeGreaterThan(500);
  });

  test('every request the parser accepts is forwarded, and kube reads it exactly as the parser did', () => {
    const mismatches: object[] = [];
    for (const o of outcomes) {
      if (o.ours.kind !== 'accepted') continue;
      const where = { method: o.c.method, target: o.c.edgeTarget, origin: o.c.origin };
      if (o.kube === null) {
        mismatches.push({ ...where, problem: 'accepted by the parser but no cluster route matches' });
      } else if (isError(o.kube)) {
        mismatches.push({ ...where, problem: `accepted by the parser, refused by kube at ${o.kube.stage}: ${o.kube.error}`, ours: comparable(o.ours.attrs) });
      } else {
        const a = comparable(o.ours.attrs);
        let b = comparable(o.kube);
        // kube's selector strings are reported by the oracle but not part of kubegate's attributes
        const invalid = (o.kube.invalidUtf8 ?? []).filter((f) => f !== 'fieldSelector' && f !== 'labelSelector');
        if (invalid.length === 1 && invalid[0] === 'name') {
          // Documented difference: a selector name that is not valid UTF-8 is not used, and the
          // request is judged as the unnamed list or watch, the broader request (no object can
          // have such a name, so kube serves nothing more than that list would).
          b = { ...b, name: '' };
        } else if (invalid.length > 0) {
          mismatches.push({ ...where, problem: `kube's ${invalid.join(', ')} is not valid UTF-8`, ours: a, kube: b });
          continue;
        }
        if (JSON.stringify(a) !== JSON.stringify(b)) mismatches.push({ ...where, ours: a, kube: b });
      }
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
    expect(mismatches).toHaveLength(0);
  });

  test('a request the parser accepts is one a cluster route forwards, to the cluster it names', () => {
    for (const o of outcomes) {
      if (o.ours.kind !== 'accepted') continue; // 'no-cluster' and refusals are denied by the Check service
      const rest = stripClusterPrefix(o.c.edgeTarget)!.rest;
      expect({ target: o.c.edgeTarget, forwarded: o.forwarded }).toEqual({ target: o.c.edgeTarget, forwarded: rest });
    }
  });

  test('what the parser refuses is a RequestPathError refusal, never another reading, even where kube would serve it', () => {
    const refusedButKubeServes = outcomes.filter((o) => o.ours.kind === 'refused' && o.kube !== null && !isError(o.kube));
    for (const o of refusedButKubeServes) {
      let thrown: unknown;
      try {
        const target = stripClusterPrefix(o.c.edgeTarget);
        if (target) parseRequestAttributes(o.c.method, target.rest);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(RequestPathError);
      expect((thrown as RequestPathError).code).toBe('ERR_REQUEST_PATH');
    }
    // The refusals kube would have served are the documented fail-closed shapes only.
    const reasons = new Set(refusedButKubeServes.map((o) => (o.ours as { reason: string }).reason));
    for (const reason of reasons) {
      expect(['percent-encoding', 'dot-segment', 'empty-segment', 'backslash', 'invalid-character', 'query-semicolon', 'malformed-query-escape', 'too-many-query-parameters', 'fragment', 'invalid-method', 'non-ascii', 'control-character']).toContain(reason);
    }
  });

  test('a selector name kube reads as bytes that are not UTF-8 is judged as the unnamed list, never as another name', () => {
    const cases = outcomes.filter((o) => o.kube !== null && !isError(o.kube) && (o.kube.invalidUtf8 ?? []).includes('name'));
    expect(cases.length).toBeGreaterThan(0);
    for (const o of cases) {
      expect(o.ours.kind).toBe('accepted');
      if (o.ours.kind === 'accepted') expect(o.ours.attrs.name).toBe('');
    }
  });

  test('the legacy /watch and /proxy paths with nothing after the verb are refused by both', () => {
    for (const o of outcomes.filter((x) => /^\/clusters\/dev\/(api\/v1|apis\/[^/]+\/v1)\/(watch|proxy)\/?(\?|$)/.test(x.c.edgeTarget))) {
      expect(o.ours.kind).toBe('refused');
      expect(o.kube !== null && isError(o.kube)).toBe(true);
    }
  });
});
