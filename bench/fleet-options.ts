/**
 * Why: the fleet-rollout benchmark's command line, checked before anything is started (starting
 * the lab takes minutes), each mistake named with the option it is about.
 */
import { parseArgs } from 'node:util';

/** Each member is a control plane and a real node on this machine, in a site of its own. */
export const MAX_MEMBERS = 5;

export const USAGE = `npm run bench:fleet -- [--clusters 1,2,3] [--skip-baseline] [--load-rate 2] [--timeout-minutes 90] [--keep-dir]

  --clusters N,...      fleet sizes to roll out from empty (default 1,2,3); the largest one then
                        gets one more cluster and a fleet-wide upgrade
  --skip-baseline       only pulumi up: no kubectl apply of the same manifests, so no ratios
  --load-rate R         kubectl requests per second, in all, against the members serving while a
                        step runs (default 2)
  --timeout-minutes M   stop everything after this long (default 90)
  --keep-dir            leave the lab's scratch directory (logs, kubeconfigs) behind
See the header of bench/fleet-rollout.ts and bench/README.md.
`;

export class OptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionsError';
  }
}

export interface FleetBenchOptions {
  /** Ascending, distinct. */
  readonly clusters: readonly number[];
  readonly skipBaseline: boolean;
  readonly loadRate: number;
  readonly timeoutMinutes: number;
  readonly keepDir: boolean;
}

export function parseFleetOptions(argv: readonly string[] = process.argv.slice(2)): FleetBenchOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        clusters: { type: 'string', default: '1,2,3' },
        'skip-baseline': { type: 'boolean', default: false },
        'load-rate': { type: 'string', default: '2' },
        'timeout-minutes': { type: 'string', default: '90' },
        'keep-dir': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new OptionsError((err as Error).message);
  }
  if (values.help) return 'help';
  const text = String(values.clusters).trim();
  const parts = text.split(',').map((p) => p.trim());
  if (text === '' || parts.some((p) => !/^\d+$/.test(p))) throw new OptionsError(`--clusters "${text}": give fleet sizes as whole numbers separated by commas, e.g. 1,2,3`);
  const clusters = parts.map(Number);
  if (clusters.some((n) => n < 1)) throw new OptionsError(`--clusters "${text}": a fleet has at least 1 member cluster`);
  if (new Set(clusters).size !== clusters.length) throw new OptionsError(`--clusters "${text}": each size once`);
  const largest = Math.max(...clusters);
  if (largest + 1 > MAX_MEMBERS) {
    throw new OptionsError(`--clusters "${text}": at most ${MAX_MEMBERS - 1}, since the largest fleet gets one more cluster and each member is a control plane and a real node on this machine`);
  }
  const loadRate = Number(values['load-rate']);
  if (!Number.isFinite(loadRate) || loadRate <= 0 || loadRate > 20) throw new OptionsError(`--load-rate "${values['load-rate']}": requests per second, more than 0 and at most 20 (each is a kubectl process)`);
  const timeoutMinutes = Number(values['timeout-minutes']);
  if (!Number.isInteger(timeoutMinutes) || timeoutMinutes < 5) throw new OptionsError(`--timeout-minutes "${values['timeout-minutes']}": a whole number of minutes, at least 5 (starting the lab alone takes minutes)`);
  return { clusters: [...clusters].sort((a, b) => a - b), skipBaseline: Boolean(values['skip-baseline']), loadRate, timeoutMinutes, keepDir: Boolean(values['keep-dir']) };
}
