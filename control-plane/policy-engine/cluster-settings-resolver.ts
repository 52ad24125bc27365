/**
 * The switches that hold for one cluster (policies/README.md, "How documents combine" rule 6):
 * - the kubectl kill switch: `kubectl: disabled` from any ClusterSettings covering the cluster
 *   wins; `enabled` elsewhere cannot override it;
 * - defaultAccessMode: the most specific ClusterSettings that sets one wins (the cluster listed
 *   by name, then matched by selector, then `all: true`); among equally specific ones, the most
 *   restrictive (disabled > console-only > kubectl). No ClusterSettings: kubectl.
 * - serviceAccountIdleTimeout: the same specificity order; among equally specific ones, the
 *   shortest (the one that keeps unused access around least). None: 8 h.
 *
 * ClusterSettings have no validity, so the answer depends on the cluster only and is remembered
 * per cluster (bounded), and reused only for the same labels.
 */
import type { AccessMode, ClusterSettings } from '../../policies/src';
import { compileClusterScope, Coverage, type ClusterMatcher } from './cluster-matcher';
import type { ClusterInfo } from './engine-contract';

export interface ResolvedClusterSettings {
  /** The ClusterSettings whose `kubectl: disabled` applies (the first in document order), if any. */
  readonly killSwitch: string | undefined;
  readonly defaultAccessMode: AccessMode;
  /** The ClusterSettings the default comes from; undefined when it is the built-in kubectl. */
  readonly defaultFrom: string | undefined;
  /** How long a per-user ServiceAccount may go unused before the cluster's agent removes it. */
  readonly serviceAccountIdleTimeoutMs: number;
  /** The ClusterSettings the idle period comes from; undefined when it is the built-in 8 h. */
  readonly serviceAccountIdleTimeoutFrom: string | undefined;
}

/** The idle period of clusters no ClusterSettings sets one for (the agent's own default too). */
export const DEFAULT_SERVICE_ACCOUNT_IDLE_TIMEOUT_MS = 8 * 3_600_000;

const RESTRICTIVENESS: Readonly<Record<AccessMode, number>> = { kubectl: 0, 'console-only': 1, disabled: 2 };

const BUILT_IN: ResolvedClusterSettings = Object.freeze({
  killSwitch: undefined,
  defaultAccessMode: 'kubectl',
  defaultFrom: undefined,
  serviceAccountIdleTimeoutMs: DEFAULT_SERVICE_ACCOUNT_IDLE_TIMEOUT_MS,
  serviceAccountIdleTimeoutFrom: undefined,
});

/** Clusters are a registered, bounded set; the bound only guards against surprises. */
const MAX_REMEMBERED_CLUSTERS = 10_000;

interface CompiledSettings {
  readonly name: string;
  readonly scope: ClusterMatcher;
  readonly killSwitch: boolean;
  readonly defaultAccessMode: AccessMode | undefined;
  readonly idleTimeoutMs: number | undefined;
}

export class ClusterSettingsResolver {
  private readonly settings: readonly CompiledSettings[];
  private readonly remembered = new Map<string, { readonly labels: ClusterInfo['labels']; readonly resolved: ResolvedClusterSettings }>();

  constructor(documents: readonly ClusterSettings[]) {
    this.settings = documents.map((doc) => ({
      name: doc.metadata.name,
      scope: compileClusterScope(doc.spec.clusters),
      killSwitch: doc.spec.kubectl === 'disabled',
      defaultAccessMode: doc.spec.defaultAccessMode,
      idleTimeoutMs: doc.spec.serviceAccountIdleTimeout?.ms,
    }));
  }

  resolve(cluster: ClusterInfo): ResolvedClusterSettings {
    if (this.settings.length === 0) return BUILT_IN;
    const known = this.remembered.get(cluster.name);
    if (known && sameLabels(known.labels, cluster.labels)) return known.resolved;
    const resolved = this.compute(cluster);
    if (this.remembered.size >= MAX_REMEMBERED_CLUSTERS) this.remembered.clear();
    // A copy: a caller that mutates its labels object must not make the remembered answer stale.
    this.remembered.set(cluster.name, { labels: { ...cluster.labels }, resolved });
    return resolved;
  }

  private compute(cluster: ClusterInfo): ResolvedClusterSettings {
    let killSwitch: string | undefined;
    let best: { readonly coverage: number; readonly mode: AccessMode; readonly name: string } | undefined;
    let idle: { readonly coverage: number; readonly ms: number; readonly name: string } | undefined;
    for (const s of this.settings) {
      const coverage = s.scope.coverage(cluster);
      if (coverage === Coverage.None) continue;
      if (s.killSwitch && killSwitch === undefined) killSwitch = s.name;
      const ms = s.idleTimeoutMs;
      if (ms !== undefined && (idle === undefined || coverage > idle.coverage || (coverage === idle.coverage && ms < idle.ms))) {
        idle = { coverage, ms, name: s.name };
      }
      const mode = s.defaultAccessMode;
      if (mode === undefined) continue;
      if (
        best === undefined ||
        coverage > best.coverage ||
        (coverage === best.coverage && RESTRICTIVENESS[mode] > RESTRICTIVENESS[best.mode])
      ) {
        best = { coverage, mode, name: s.name };
      }
    }
    return {
      killSwitch,
      defaultAccessMode: best?.mode ?? 'kubectl',
      defaultFrom: best?.name,
      serviceAccountIdleTimeoutMs: idle?.ms ?? DEFAULT_SERVICE_ACCOUNT_IDLE_TIMEOUT_MS,
      serviceAccountIdleTimeoutFrom: idle?.name,
    };
  }
}

function sameLabels(a: ClusterInfo['labels'], b: ClusterInfo['labels']): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (!Object.hasOwn(b, key) || a[key] !== b[key]) return false;
  return true;
}
