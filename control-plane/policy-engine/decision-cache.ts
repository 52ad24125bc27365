/**
 * Remembers engine decisions so that a busy client (kubectl get -w, controllers, the console)
 * does not re-evaluate identical requests. An entry is used only
 * - for the generation it was computed in: every store or policy change advances the generation
 *   (the control plane's AccessState does, also when cluster labels change), and the first
 *   request of a new generation empties the cache, so a change applies to the very next request;
 * - while now < the decision's validUntil, which the engine computes from every time bound the
 *   decision depends on (validity windows, grant expiry, session `within`).
 *
 * Bounded: least recently used entries are evicted first (a Map keeps insertion order, and a hit
 * re-inserts its entry at the end), so memory stays flat whatever the traffic.
 */
import type { AccessRequest, EngineDecision } from './engine-contract';

export interface DecisionCacheOptions {
  /** @default 100_000 */
  readonly maxEntries?: number;
}

interface Entry {
  readonly generation: number;
  readonly decision: EngineDecision;
}

export class DecisionCache {
  private readonly maxEntries: number;
  private readonly entries = new Map<string, Entry>();
  private generation = -Infinity;
  private hits = 0;
  private misses = 0;

  constructor(options: DecisionCacheOptions = {}) {
    const max = options.maxEntries ?? 100_000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxEntries must be a positive integer, got ${max}`);
    this.maxEntries = max;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Hits and misses since construction, for status pages. */
  stats(): { readonly hits: number; readonly misses: number; readonly size: number } {
    return { hits: this.hits, misses: this.misses, size: this.entries.size };
  }

  get(key: string, generation: number, now: number): EngineDecision | undefined {
    this.adopt(generation);
    const entry = this.entries.get(key);
    if (entry === undefined || entry.generation !== generation) {
      this.misses++;
      return undefined;
    }
    if (!(now < entry.decision.validUntil)) {
      this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    // Most recently used goes last.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.hits++;
    return entry.decision;
  }

  set(key: string, generation: number, decision: EngineDecision): void {
    this.adopt(generation);
    // A decision from an older generation than the cache has seen is already stale.
    if (generation !== this.generation) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { generation, decision });
  }

  clear(): void {
    this.entries.clear();
  }

  /** A newer generation makes every entry useless: drop them all at once. */
  private adopt(generation: number): void {
    if (generation > this.generation) {
      this.entries.clear();
      this.generation = generation;
    }
  }
}

/**
 * Everything a decision depends on besides the generation and the time: the subject, the
 * cluster, the channel and the request attributes the engine reads. Free-form parts are
 * length-prefixed so that no choice of names can make two different requests share a key.
 */
export function decisionCacheKey(request: AccessRequest): string {
  const { subject, cluster, channel, attributes: a } = request;
  let key = `${channel}|${part(subject.user)}${subject.groups.length}|`;
  for (const group of subject.groups) key += part(group);
  key += part(cluster.name);
  if (!a.isResourceRequest) return `${key}N|${part(a.verb)}${part(a.path)}`;
  return `${key}R|${part(a.verb)}${part(a.apiGroup)}${part(a.resource)}${part(a.subresource)}${part(a.namespace)}${part(a.name)}`;
}

const part = (text: string): string => `${text.length}:${text}`;
