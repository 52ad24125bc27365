/**
 * Why: the fleet-rollout benchmark's results, as saved (bench/results/fleet-rollout.json) and as
 * printed: one line per step with both sides' times and the ratio Pulumi/kubectl apply, then
 * what the load saw during each step, then how long teardown took (not compared: what each side
 * removes differs, see bench/README.md).
 */
import type { machine } from './bench-support';
import type { FleetBenchOptions } from './fleet-options';
import type { LoadFigures } from './fleet-load';
import type { FleetImages } from '../dev/fleet/fleet-lab';

export type SideName = 'kubectl-apply' | 'pulumi';
export type StepKind = 'from-empty' | 'add-one' | 'upgrade';

export interface SideStep {
  /** From the first command to serving. */
  readonly seconds: number;
  /** Until the side's own commands returned (`pulumi up`; kubectl apply and rollout status). */
  readonly commandSeconds: number;
  /** The load during the step; null when no member served before it. */
  readonly load: LoadFigures | null;
}

export interface StepRow {
  readonly kind: StepKind;
  /** Members serving before the step (from empty: the fleet's size; upgrade: every member). */
  readonly members: number;
  readonly sides: Partial<Record<SideName, SideStep>>;
}

export interface FleetReport {
  readonly benchmark: 'fleet-rollout';
  readonly when: string;
  readonly options: FleetBenchOptions;
  readonly machine: ReturnType<typeof machine>;
  machineAtEnd?: ReturnType<typeof machine>;
  readonly lab: { seconds: number; members: readonly string[]; images: FleetImages; upgradeImages: FleetImages; warmupSeconds: Record<string, number> };
  readonly steps: StepRow[];
  readonly teardown: { side: SideName; members: number; seconds: number; leftBehind: string[] }[];
  readonly errors: { side: SideName; members: number; error: string }[];
}

const STEP_TITLE: Record<StepKind, (n: number) => string> = {
  'from-empty': (n) => `from empty to ${n} member${n === 1 ? '' : 's'}`,
  'add-one': (n) => `add one to ${n} member${n === 1 ? '' : 's'}`,
  upgrade: (n) => `upgrade hub + ${n} member${n === 1 ? '' : 's'}`,
};

/** Pulumi's time over kubectl apply's, or null without both. */
export function ratio(row: StepRow): number | null {
  const [p, k] = [row.sides.pulumi, row.sides['kubectl-apply']];
  return p && k && k.seconds > 0 ? Math.round((p.seconds / k.seconds) * 100) / 100 : null;
}

function loadLine(l: LoadFigures): string {
  const failed = l.failed === 0 ? '0 failed' : `${l.failed} failed (${l.failuresFromS}-${l.failuresUntilS} s into the step): ${Object.entries(l.failedBy).map(([msg, n]) => `${n}× "${msg}"`).join(', ')}`;
  const latency = l.latencyMs ? `, ok p50 ${l.latencyMs.p50} ms p99 ${l.latencyMs.p99} ms` : '';
  const skipped = l.skipped ? `, ${l.skipped} not sent (too many in flight)` : '';
  const reconnects = l.watches.reconnects === 0 ? '0 reconnects' : `${l.watches.reconnects} reconnects: ${Object.entries(l.watches.reconnectsBy).map(([msg, n]) => `${n}× "${msg}"`).join(', ')}`;
  const reopens = l.watches.failedReopens === 0 ? '' : ` (then ${l.watches.failedReopens} failed attempts to watch again: ${Object.entries(l.watches.failedReopensBy).map(([msg, n]) => `${n}× "${msg}"`).join(', ')})`;
  return `${l.requests} requests in ${l.seconds} s, ${failed}${latency}${skipped}; ${l.watches.streams} watch${l.watches.streams === 1 ? '' : 'es'}, ${reconnects}${reopens}, ${l.watches.missedEvents} created ConfigMaps never seen`;
}

export function formatFleetReport(r: FleetReport): string {
  const baseline = !r.options.skipBaseline;
  const out: string[] = [
    'fleet-rollout: pulumi up (real CLI, the project\'s program) against kubectl apply of the same construct manifests, measured in the same run',
    `lab: hub + ${r.lab.members.length} member clusters, each with a real node (started in ${r.lab.seconds} s); images pulled onto every node before timing`,
    '',
    `${'step'.padEnd(30)}${baseline ? 'kubectl apply'.padStart(15) : ''}${'pulumi up'.padStart(13)}${baseline ? 'ratio'.padStart(9) : ''}   (seconds to serving; in brackets: until the commands returned)`,
  ];
  const cell = (s: SideStep | undefined, width: number) => (s ? `${s.seconds.toFixed(1)} (${s.commandSeconds.toFixed(1)})` : '-').padStart(width);
  for (const row of r.steps) {
    const q = ratio(row);
    out.push(`${STEP_TITLE[row.kind](row.members).padEnd(30)}${baseline ? cell(row.sides['kubectl-apply'], 15) : ''}${cell(row.sides.pulumi, 13)}${baseline ? (q === null ? '-' : `${q.toFixed(2)}x`).padStart(9) : ''}`);
  }
  if (!baseline) out.push('(--skip-baseline: no kubectl apply side, so no ratios)');
  out.push('', `load during each step (kubectl get/create ConfigMaps at ${r.options.loadRate}/s in all against the members serving when the step began, and one kubectl get --watch per member):`);
  for (const row of r.steps) {
    for (const [side, s] of Object.entries(row.sides) as [SideName, SideStep][]) {
      out.push(`  ${STEP_TITLE[row.kind](row.members)}, ${side}: ${s.load ? loadLine(s.load) : 'no member served before the step: no load'}`);
    }
  }
  if (r.teardown.length) {
    out.push('', 'teardown (not compared; pulumi destroy also deregisters each cluster at the hub):');
    for (const t of r.teardown) out.push(`  ${t.side} with ${t.members} member${t.members === 1 ? '' : 's'}: ${t.seconds} s${t.leftBehind.length ? `, left behind: ${t.leftBehind.join(' ')}` : ', nothing left'}`);
  }
  if (r.errors.length) {
    out.push('', 'steps that did not complete:');
    for (const e of r.errors) out.push(`  ${e.side} with ${e.members} member${e.members === 1 ? '' : 's'}: ${e.error.split('\n')[0]}`);
  }
  const end = r.machineAtEnd ?? r.machine;
  out.push('', `machine: ${r.machine.cpus} cpus (${r.machine.model}), load average at start ${r.machine.loadAverage.join(' ')}, at end ${end.loadAverage.join(' ')}; every cluster, node, the registry, PostgreSQL, Pulumi and the load share it`);
  return `${out.join('\n')}\n`;
}
