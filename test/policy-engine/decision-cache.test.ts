/** The DecisionCache: reuse within a generation and before validUntil, bounded, LRU. */
import { DecisionCache, decisionCacheKey } from '../../control-plane/policy-engine/decision-cache';
import type { EngineDecision } from '../../control-plane/policy-engine/engine-contract';
import { context, engine, HOUR, MINUTE, NOON, request } from './engine-fixtures';

const decision = (validUntil: number, policy = 'p'): EngineDecision => ({ allowed: true, policy, policyKind: 'AccessPolicy', reason: 'test', validUntil });

describe('DecisionCache', () => {
  test('a hit returns the stored decision for the same key and generation', () => {
    const cache = new DecisionCache();
    const d = decision(NOON + HOUR);
    cache.set('k', 1, d);
    expect(cache.get('k', 1, NOON)).toBe(d);
    expect(cache.get('other', 1, NOON)).toBeUndefined();
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  test('a new generation misses, and empties the cache at once', () => {
    const cache = new DecisionCache();
    cache.set('a', 1, decision(NOON + HOUR));
    cache.set('b', 1, decision(NOON + HOUR));
    expect(cache.get('a', 2, NOON)).toBeUndefined();
    expect(cache.size).toBe(0);
    // A decision computed under the old generation, stored late, is not kept.
    cache.set('b', 1, decision(NOON + HOUR));
    expect(cache.get('b', 2, NOON)).toBeUndefined();
    expect(cache.get('b', 1, NOON)).toBeUndefined();
  });

  test('an entry is used only while now < validUntil', () => {
    const cache = new DecisionCache();
    const d = decision(NOON + MINUTE);
    cache.set('k', 1, d);
    expect(cache.get('k', 1, NOON + MINUTE - 1)).toBe(d);
    expect(cache.get('k', 1, NOON + MINUTE)).toBeUndefined();
    expect(cache.size).toBe(0);
    // A decision valid "until now" (session-required) is never reused.
    cache.set('s', 1, decision(NOON));
    expect(cache.get('s', 1, NOON)).toBeUndefined();
  });

  test('the bound is respected, evicting the least recently used', () => {
    const cache = new DecisionCache({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) cache.set(k, 1, decision(NOON + HOUR, k));
    expect(cache.get('a', 1, NOON)).toBeDefined(); // a is now the most recently used
    cache.set('d', 1, decision(NOON + HOUR, 'd'));
    expect(cache.size).toBe(3);
    expect(cache.get('b', 1, NOON)).toBeUndefined();
    for (const k of ['a', 'c', 'd']) expect(cache.get(k, 1, NOON)).toBeDefined();
    for (let i = 0; i < 100; i++) cache.set(`x${i}`, 1, decision(NOON + HOUR));
    expect(cache.size).toBe(3);
  });

  test('refuses a nonsensical bound', () => {
    expect(() => new DecisionCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});

describe('decisionCacheKey', () => {
  const base = request('GET', '/api/v1/namespaces/a/pods', { user: 'alice', groups: ['devs'], cluster: 'prod' });

  test('differs whenever anything the engine reads differs', () => {
    const variants = [
      base,
      { ...base, channel: 'console' as const },
      request('GET', '/api/v1/namespaces/a/pods', { user: 'bob', groups: ['devs'], cluster: 'prod' }),
      request('GET', '/api/v1/namespaces/a/pods', { user: 'alice', groups: ['devs', 'ops'], cluster: 'prod' }),
      request('GET', '/api/v1/namespaces/a/pods', { user: 'alice', groups: [], cluster: 'prod' }),
      request('GET', '/api/v1/namespaces/a/pods', { user: 'alice', groups: ['devs'], cluster: 'staging' }),
      request('GET', '/api/v1/namespaces/b/pods', { user: 'alice', groups: ['devs'], cluster: 'prod' }),
      request('GET', '/api/v1/namespaces/a/pods/x', { user: 'alice', groups: ['devs'], cluster: 'prod' }),
      request('GET', '/api/v1/namespaces/a/pods/x/log', { user: 'alice', groups: ['devs'], cluster: 'prod' }),
      request('POST', '/api/v1/namespaces/a/pods', { user: 'alice', groups: ['devs'], cluster: 'prod' }),
      request('GET', '/apis/apps/v1/namespaces/a/pods', { user: 'alice', groups: ['devs'], cluster: 'prod' }),
      request('GET', '/api/v1/pods', { user: 'alice', groups: ['devs'], cluster: 'prod' }),
      request('GET', '/healthz', { user: 'alice', groups: ['devs'], cluster: 'prod' }),
      request('GET', '/version', { user: 'alice', groups: ['devs'], cluster: 'prod' }),
    ];
    expect(new Set(variants.map(decisionCacheKey)).size).toBe(variants.length);
  });

  test('is the same for the same request, and names cannot be shifted between fields', () => {
    expect(decisionCacheKey(request('GET', '/api/v1/namespaces/a/pods', { user: 'alice', groups: ['devs'], cluster: 'prod' }))).toBe(decisionCacheKey(base));
    const a = decisionCacheKey(request('GET', '/healthz', { user: 'a', groups: ['b,c'] }));
    const b = decisionCacheKey(request('GET', '/healthz', { user: 'a', groups: ['b', 'c'] }));
    const c = decisionCacheKey(request('GET', '/healthz', { user: 'a:1', groups: [] }));
    const d = decisionCacheKey(request('GET', '/healthz', { user: 'a', groups: ['1'] }));
    expect(new Set([a, b, c, d]).size).toBe(4);
  });
});

describe('the cache in front of the engine', () => {
  const yaml = `
    kind: AccessPolicy
    metadata: {name: office}
    spec:
      subjects: {users: [alice]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
      validity:
        windows: [{days: [Mon, Tue, Wed, Thu, Fri], start: "08:00", end: "18:00", timeZone: Europe/Berlin}]
  `;

  test('a decision is reused until its window closes, then re-evaluated', () => {
    const e = engine(yaml);
    const cache = new DecisionCache();
    let evaluations = 0;
    const decide = (now: number) => {
      const req = request('GET', '/api/v1/namespaces/a/pods');
      const key = decisionCacheKey(req);
      const hit = cache.get(key, 1, now);
      if (hit) return hit;
      evaluations++;
      const fresh = e.evaluate(req, context(now));
      cache.set(key, 1, fresh);
      return fresh;
    };
    const closes = Date.parse('2025-06-02T16:00:00Z'); // 18:00 CEST
    expect(decide(NOON).allowed).toBe(true);
    expect(decide(closes - 1).allowed).toBe(true);
    expect(evaluations).toBe(1);
    expect(decide(closes).allowed).toBe(false);
    expect(evaluations).toBe(2);
  });
});
