/**
 * Benchmark: policy-engine decisions per second on one core, at the scale the engine is meant
 * for: 10,000 users, 1,000 AccessPolicies of one rule each (some with validity windows, some
 * console-only or session-gated, some by cluster selector), ClusterSettings with a default mode,
 * 50 clusters, and a request mix of reads, writes, exec and non-resource paths.
 *
 * Measures, never passes or fails. Two figures: the engine alone (every request evaluated) and
 * behind the DecisionCache with a realistic repeat rate.
 *
 *   npm run build && node dist/bench/policy-engine.js [--decisions N]
 * (or compile just this file: npx tsc --outDir /tmp/kg-bench bench/policy-engine.ts ...)
 */
import { parseArgs } from 'node:util';
import { parsePolicyFile } from '../policies/src';
import { parseRequestAttributes, type RequestAttributes } from '../control-plane/kubernetes-api/request-attributes';
import { DecisionCache, decisionCacheKey } from '../control-plane/policy-engine/decision-cache';
import type { AccessRequest, ClusterInfo, EvaluationContext } from '../control-plane/policy-engine/engine-contract';
import { PolicyEngine } from '../control-plane/policy-engine/policy-engine';

const USERS = 10_000;
const GROUPS = 300;
const POLICIES = 1_000;
const CLUSTERS = 50;
const NAMESPACES = 40;

/** Deterministic, so runs are comparable (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function policyYaml(rand: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const docs: string[] = [];
  const resources = ['pods', 'pods/log', 'deployments', 'services', 'configmaps', 'secrets', 'jobs', 'pods/exec'];
  for (let i = 0; i < POLICIES; i++) {
    const groups = [`team-${i % GROUPS}`, `team-${(i * 7) % GROUPS}`];
    const users = [`user-${Math.floor(rand() * USERS)}`];
    const clusters = i % 5 === 0 ? `{selector: {matchLabels: {env: ${pick(['prod', 'staging'])}}}}` : `{names: [cluster-${i % CLUSTERS}, cluster-${(i + 1) % CLUSTERS}]}`;
    const resource = pick(resources);
    const group = resource === 'deployments' ? 'apps' : resource === 'jobs' ? 'batch' : '""';
    const verbs = resource === 'pods/exec' ? '[create, get]' : pick(['[get, list, watch]', '[get, list, watch, create, update, patch, delete]', '["*"]']);
    const ns = rand() < 0.8 ? `, namespaces: [ns-${i % NAMESPACES}, ns-${(i + 3) % NAMESPACES}]` : '';
    const mode = i % 10 === 3 ? '\n  accessMode: console-only' : '';
    const session = i % 10 === 4 ? '\n  requireActiveSession: {within: 15m}' : '';
    const validity =
      i % 4 === 1 ? '\n  validity:\n    windows: [{days: [Mon, Tue, Wed, Thu, Fri], start: "07:00", end: "19:00", timeZone: Europe/Berlin}]' : '';
    docs.push(`apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: policy-${i}}
spec:
  subjects: {users: [${users.join(', ')}], groups: [${groups.join(', ')}]}
  clusters: ${clusters}${mode}${session}
  rules:
    - {apiGroups: [${group}], resources: [${resource}], verbs: ${verbs}${ns}}${validity}`);
  }
  docs.push(`apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: contractors-no-prod}
spec:
  subjects: {groups: [team-13]}
  clusters: {selector: {matchLabels: {env: prod}}}
  accessMode: disabled`);
  docs.push(`apiVersion: kubegate.dev/v1alpha1
kind: ClusterSettings
metadata: {name: staging-defaults}
spec:
  clusters: {selector: {matchLabels: {env: staging}}}
  defaultAccessMode: console-only`);
  return docs.join('\n---\n');
}

function main(): void {
  const { values } = parseArgs({ options: { decisions: { type: 'string', default: '400000' } } });
  const decisions = Number(values.decisions);
  const rand = random(42);
  const started = process.hrtime.bigint();
  const documents = parsePolicyFile(policyYaml(rand), 'bench.yaml');
  const parsed = process.hrtime.bigint();
  const engine = new PolicyEngine(documents);
  const built = process.hrtime.bigint();

  const clusters: ClusterInfo[] = Array.from({ length: CLUSTERS }, (_, i) => ({
    name: `cluster-${i}`,
    labels: { env: i % 3 === 0 ? 'prod' : 'staging', region: `r${i % 4}` },
  }));
  const methodsAndPaths: [string, string][] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    methodsAndPaths.push(
      ['GET', `/api/v1/namespaces/ns-${n}/pods`],
      ['GET', `/api/v1/namespaces/ns-${n}/pods/web-1`],
      ['GET', `/api/v1/namespaces/ns-${n}/pods/web-1/log`],
      ['POST', `/api/v1/namespaces/ns-${n}/pods/web-1/exec?command=sh`],
      ['GET', `/apis/apps/v1/namespaces/ns-${n}/deployments?watch=1`],
      ['PATCH', `/apis/apps/v1/namespaces/ns-${n}/deployments/api`],
      ['DELETE', `/api/v1/namespaces/ns-${n}/secrets/token`],
    );
  }
  methodsAndPaths.push(['GET', '/api/v1/pods'], ['GET', '/version'], ['GET', '/api/v1/nodes']);
  const attributes: RequestAttributes[] = methodsAndPaths.map(([m, p]) => parseRequestAttributes(m, p));

  // Each user in three groups, as the index would see them.
  const subjects = Array.from({ length: USERS }, (_, i) => ({
    user: `user-${i}`,
    groups: [`team-${i % GROUPS}`, `team-${(i * 31) % GROUPS}`, `team-${(i * 97) % GROUPS}`],
  }));
  // Most traffic goes where the user has a policy (policy i covers cluster i % 50 and namespace
  // i % 40, and team-(i % 300) is among its subjects); the rest is anywhere.
  const requests: AccessRequest[] = Array.from({ length: 50_000 }, () => {
    const u = Math.floor(rand() * USERS);
    const own = (u % GROUPS) + GROUPS * Math.floor(rand() * (POLICIES / GROUPS));
    const targeted = rand() < 0.7;
    const clusterIndex = targeted ? own % CLUSTERS : Math.floor(rand() * CLUSTERS);
    const attributeIndex = targeted ? (own % NAMESPACES) * 7 + Math.floor(rand() * 7) : Math.floor(rand() * attributes.length);
    return {
      subject: subjects[u]!,
      cluster: clusters[clusterIndex]!,
      channel: rand() < 0.9 ? 'kubectl' : 'console',
      attributes: attributes[attributeIndex]!,
    };
  });
  const base = Date.parse('2025-06-02T10:00:00Z'); // a Monday, windows open
  const ctx = (i: number): EvaluationContext => ({ now: base + i, grants: [], lastConsoleActivity: base - 60_000 });

  // Warm up the JIT and the validity memos.
  for (let i = 0; i < 20_000; i++) engine.evaluate(requests[i % requests.length]!, ctx(i));

  let allowed = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < decisions; i++) if (engine.evaluate(requests[i % requests.length]!, ctx(i)).allowed) allowed++;
  const t1 = process.hrtime.bigint();

  const cache = new DecisionCache({ maxEntries: 100_000 });
  const t2 = process.hrtime.bigint();
  for (let i = 0; i < decisions; i++) {
    const request = requests[i % requests.length]!;
    const key = decisionCacheKey(request);
    const c = ctx(i);
    if (cache.get(key, 1, c.now) === undefined) cache.set(key, 1, engine.evaluate(request, c));
  }
  const t3 = process.hrtime.bigint();

  const seconds = (a: bigint, b: bigint) => Number(b - a) / 1e9;
  const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US');
  console.log(`documents: ${documents.length} (parsed in ${seconds(started, parsed).toFixed(2)} s, engine built in ${(seconds(parsed, built) * 1000).toFixed(1)} ms)`);
  console.log(`users: ${USERS}, groups: ${GROUPS}, clusters: ${CLUSTERS}, distinct requests: ${requests.length}`);
  console.log(`engine alone: ${rate(decisions, seconds(t0, t1))} decisions/s (${((allowed / decisions) * 100).toFixed(1)}% allowed)`);
  console.log(`with DecisionCache: ${rate(decisions, seconds(t2, t3))} decisions/s (${JSON.stringify(cache.stats())})`);
}

main();
