/**
 * Benchmark: rolling kubegate out to a fleet with `pulumi up` (the real CLI, the project's
 * program in Pulumi.yaml/stacks/), against `kubectl apply` of the same construct manifests, in
 * one run on one machine, on the fleet lab (dev/fleet/: a hub cluster and member clusters in
 * firewalled sites, each with a real node; images from a local registry; PostgreSQL).
 *
 * Steps, each timed from the first command to "serving" (bench/fleet-serving.ts: every member's
 * agent connected, and a user's kubectl through the edge answered by each member):
 *   from empty   the hub and N members (each N of --clusters), policy set included; the hub
 *                gets a new, empty store each time, and everything is removed after the round.
 *   add one      one more member to the running fleet of the largest N.
 *   upgrade      every image of the fleet (hub and agents) moved to a second set (the same
 *                images with one label more, so new digests; dev/fleet/relabelled-images.ts),
 *                until every kubegate pod runs them, is ready, and every member serves.
 * The kubectl-apply side (bench/fleet-baseline.ts) does the same with the same manifests, props
 * and kubeconfigs; each Pulumi figure is reported as a ratio to it. The sides take turns going
 * first, round by round, and every image of both sets is pulled onto every node before anything
 * is timed (bench/fleet-warm-images.ts).
 *
 * During "add one" and "upgrade", a paced kubectl load (get and create ConfigMaps, --load-rate
 * per second in all) runs against every member serving when the step began, with one open
 * `kubectl get --watch` per member (bench/fleet-load.ts): failed requests (with kubectl's first
 * stderr line), watches that ended and had to be reopened, created ConfigMaps a watch never saw.
 * "From empty" has no member serving before it, so no load.
 *
 * It measures, it never fails on a figure. Progress is logged as JSON lines on stderr; the
 * report goes to stdout and bench/results/fleet-rollout.json.
 *
 *   npm run bench:fleet -- [--clusters 1,2,3] [--skip-baseline] [--load-rate 2] [--timeout-minutes 90] [--keep-dir]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FleetLab } from '../dev/fleet/fleet-lab';
import type { BuiltImage } from '../dev/images/build-images';
import { createLogger } from '../control-plane/log/logger';
import { machine, round, writeResults } from './bench-support';
import { OptionsError, USAGE, parseFleetOptions, type FleetBenchOptions } from './fleet-options';
import { StepLoad, type LoadFigures, type LoadTarget } from './fleet-load';
import { KubectlApplyFleet } from './fleet-baseline';
import { FleetUsers, waitRolledOut } from './fleet-serving';
import { warmImages } from './fleet-warm-images';
import { formatFleetReport, type FleetReport, type SideName, type SideStep, type StepKind } from './fleet-report';

const progress = createLogger('bench.fleet-rollout', { level: 'info' });

/** How one side changes the fleet; each method returns when its own commands have (not when the fleet serves). */
interface Side {
  readonly name: SideName;
  install(names: readonly string[]): Promise<void>;
  add(names: readonly string[], added: string): Promise<void>;
  upgrade(names: readonly string[], images: readonly BuiltImage[]): Promise<void>;
  teardown(): Promise<void>;
}

function pulumiSide(lab: FleetLab): Side {
  const up = () => lab.pulumiOk(['up', '--yes', '--skip-preview']).then(() => undefined);
  return {
    name: 'pulumi',
    async install(names) {
      lab.writeConfig(names);
      await up();
    },
    async add(names) {
      lab.writeConfig(names);
      await up();
    },
    async upgrade(names, images) {
      lab.writeConfig(names, { 'kubegate:images': lab.imagesConfig(images) });
      await up();
    },
    async teardown() {
      await lab.pulumiOk(['destroy', '--yes', '--skip-preview']);
    },
  };
}

function kubectlSide(lab: FleetLab, dir: string): Side {
  let fleet = new KubectlApplyFleet(lab, dir);
  return {
    name: 'kubectl-apply',
    async install(names) {
      fleet = new KubectlApplyFleet(lab, dir);
      await fleet.installHub(lab.imagesConfig());
      await fleet.joinMembers(names, lab.imagesConfig());
    },
    async add(_names, added) {
      await fleet.joinMembers([added], lab.imagesConfig());
    },
    async upgrade(names, images) {
      await fleet.upgrade(names, lab.imagesConfig(images));
    },
    async teardown() {
      await fleet.teardown();
    },
  };
}

/** Times one step: `change` (the side's commands), then `serve` until the fleet serves; a load runs against `targets` throughout. */
async function timeStep(
  opts: FleetBenchOptions,
  lab: FleetLab,
  what: { kind: StepKind; side: SideName; members: number },
  targets: readonly LoadTarget[],
  change: () => Promise<void>,
  serve: () => Promise<LoadTarget[]>,
): Promise<{ step: SideStep; serving: LoadTarget[] }> {
  const load = targets.length > 0 ? await StepLoad.start({ kubectl: lab.tools.kubectl, targets, ratePerSecond: opts.loadRate, namePrefix: `bench-${what.kind}-${what.side}-${Date.now()}` }) : undefined;
  const t0 = Date.now();
  progress.info('step started', { ...what, load: targets.map((t) => t.member) });
  const heartbeat = setInterval(() => progress.info('step running', { ...what, seconds: Math.round((Date.now() - t0) / 1000), ...(load ? { load: load.counts } : {}) }), 15_000);
  let figures: LoadFigures | undefined;
  try {
    await change();
    const changed = Date.now();
    progress.info(what.side === 'pulumi' ? 'pulumi up returned' : 'kubectl apply done, rolled out', { ...what, seconds: round((changed - t0) / 1000) });
    const serving = await serve();
    const done = Date.now();
    figures = await load?.stop();
    const step: SideStep = { seconds: round((done - t0) / 1000), commandSeconds: round((changed - t0) / 1000), load: figures ?? null };
    progress.info('step served', { ...what, seconds: step.seconds, ...(figures ? { requests: figures.requests, failed: figures.failed, watchReconnects: figures.watches.reconnects } : {}) });
    return { step, serving };
  } finally {
    clearInterval(heartbeat);
    if (!figures) await load?.stop().catch(() => undefined);
  }
}

async function main(opts: FleetBenchOptions): Promise<void> {
  const machineAtStart = machine();
  const largest = opts.clusters[opts.clusters.length - 1]!;
  const names = Array.from({ length: largest + 1 }, (_, i) => `member-${i + 1}`);
  const started = Date.now();
  progress.info('starting the fleet lab', { members: names, loadAverage: machineAtStart.loadAverage });
  // The load creates ConfigMaps as a team member: bound to write in `default`, not only to view.
  const lab = await FleetLab.start({ name: 'bench', members: names, teamPolicy: { writeInDefault: true }, keepDir: opts.keepDir, progress });
  let stopping: Promise<void> | undefined;
  const stopLab = () => (stopping ??= lab.stop());
  const bail = (code: number, why: string) => {
    progress.error(why);
    void stopLab().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => bail(130, 'interrupted: stopping the fleet lab'));
  const watchdog = setTimeout(() => bail(2, `the run took longer than --timeout-minutes ${opts.timeoutMinutes}: stopping the fleet lab`), opts.timeoutMinutes * 60_000 - (Date.now() - started));
  watchdog.unref();
  try {
    const labSeconds = round((Date.now() - started) / 1000);
    const upgraded = await lab.relabelledImages('bench');
    progress.info('pulling both image sets onto every node', { images: upgraded.map((i) => i.reference) });
    const warmup = await warmImages(lab, names, [...lab.images, ...upgraded]);

    const dir = path.join(lab.dir, 'bench');
    fs.mkdirSync(dir, { recursive: true });
    const users = new FleetUsers(lab, dir);
    const sides = [...(opts.skipBaseline ? [] : [kubectlSide(lab, path.join(dir, 'manifests'))]), pulumiSide(lab)];
    const report: FleetReport = {
      benchmark: 'fleet-rollout',
      when: new Date().toISOString(),
      options: opts,
      machine: machineAtStart,
      lab: { seconds: labSeconds, members: names, images: lab.imagesConfig(), upgradeImages: lab.imagesConfig(upgraded), warmupSeconds: warmup },
      steps: [],
      teardown: [],
      errors: [],
    };
    const record = (kind: StepKind, members: number, side: SideName, step: SideStep) => {
      let row = report.steps.find((s) => s.kind === kind && s.members === members);
      if (!row) report.steps.push((row = { kind, members, sides: {} }));
      row.sides[side] = step;
    };

    for (const [roundIndex, n] of opts.clusters.entries()) {
      const members = names.slice(0, n);
      // The sides take turns going first.
      const order = roundIndex % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        await lab.freshStore();
        try {
          const empty = await timeStep(opts, lab, { kind: 'from-empty', side: side.name, members: n }, [], () => side.install(members), () => users.serving(members));
          record('from-empty', n, side.name, empty.step);
          if (n === largest) {
            const added = names[n]!;
            const all = [...members, added];
            const add = await timeStep(opts, lab, { kind: 'add-one', side: side.name, members: n }, empty.serving, () => side.add(all, added), () => users.serving([added]));
            record('add-one', n, side.name, add.step);
            const up = await timeStep(opts, lab, { kind: 'upgrade', side: side.name, members: n + 1 }, [...empty.serving, ...add.serving], () => side.upgrade(all, upgraded), async () => {
              await waitRolledOut(lab, all, lab.imagesConfig(upgraded));
              return users.serving(all);
            });
            record('upgrade', n + 1, side.name, up.step);
          }
        } catch (err) {
          progress.error('step failed; tearing down and going on', { side: side.name, members: n, error: (err as Error).message });
          report.errors.push({ side: side.name, members: n, error: (err as Error).message });
        }
        const t0 = Date.now();
        progress.info('tearing down', { side: side.name, members: n });
        try {
          await side.teardown();
          const left = (await Promise.all([lab.hub, ...names.map((m) => lab.member(m).cluster!)].map((c) => lab.kubegateObjects(c)))).flat();
          report.teardown.push({ side: side.name, members: n, seconds: round((Date.now() - t0) / 1000), leftBehind: left });
          if (left.length) progress.warn('objects left behind after teardown', { side: side.name, left });
        } catch (err) {
          report.errors.push({ side: side.name, members: n, error: `teardown: ${(err as Error).message}` });
          throw new Error(`teardown of ${side.name} with ${n} members failed, so the next round would not start from empty: ${(err as Error).message}`);
        }
      }
    }
    report.machineAtEnd = machine();
    process.stdout.write(formatFleetReport(report));
    const file = writeResults('fleet-rollout', report);
    progress.info('results written', { file, minutes: round((Date.now() - started) / 60_000) });
  } finally {
    clearTimeout(watchdog);
    await stopLab();
  }
}

let options: FleetBenchOptions | 'help';
try {
  options = parseFleetOptions();
} catch (err) {
  if (!(err instanceof OptionsError)) throw err;
  process.stderr.write(`fleet-rollout: ${err.message}\n\n${USAGE}`);
  process.exit(2);
}
if (options === 'help') process.stdout.write(USAGE);
else {
  main(options).catch((err) => {
    progress.error('benchmark failed', { error: (err as Error).stack ?? (err as Error).message });
    process.exitCode = 1;
  });
}
