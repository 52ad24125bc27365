/**
 * What the generator needs of a construct to make a chart of it: how to synthesise it from
 * props, the JSON Schema its props are checked with, and where its props interface is
 * declared (for the docs). One small object per construct (agent-chart-source.ts, ...).
 */
import type { Fragment, JsonSchema, PlanOptions } from './prop-plans';

export interface ChartSource {
  /** The chart's name: kubegate-agent */
  readonly name: string;
  /** One line for Chart.yaml. */
  readonly description: string;
  /** The construct's TypeScript source, relative to kubegate's root, and its props interface there. */
  readonly sourceFile: string;
  readonly propsInterface: string;
  /** The schema the construct validates its props with. */
  readonly schema: JsonSchema;
  /**
   * What the construct refuses beyond its schema (rules across props), as template conditions
   * (over `$.Values`) that make `helm install` fail with the message. Written by hand: the
   * generator cannot read them out of the construct's code; the tests pair each with the
   * construct's own refusal.
   */
  readonly refusals?: readonly {
    readonly when: string;
    readonly message: string;
    /** The two variants (`prop label`) whose combination it refuses though the construct takes it: the pair check skips them. */
    readonly covers?: readonly [string, string];
  }[];
  /** Named templates the refusals use (templates/_helpers.tpl), written by hand like them. */
  readonly helpers?: string;
  /**
   * Count props the construct repeats objects or list items by (`edge.replicas`: a tunnel
   * Service and an address per replica), each unit replica i's, its numbers `base + i`. Their
   * runs become `range $i := until <count>` (repeat-runs.ts); a count not named here that
   * repeats output fails generation, since its sentinel's units cannot be told apart.
   */
  readonly repeats?: readonly string[];
  /** Props absent from the base synthesis, and sentinels for patterns no family fits (prop-plans.ts). */
  readonly plan?: PlanOptions;
  /**
   * Props that must change with another's variant for the construct to accept it (give a
   * Secret instead of a URL: the URL must go): prop -> { other prop: value, or ABSENT }. A key
   * `prop label` holds for that variant only (the agent image absent: the section that needs it goes).
   */
  readonly companions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * Values the construct computes from props (a worker count from a CPU limit), for one
   * synthesis's props: the computed text or number and the template expression that computes
   * it the same way. Written by hand; the equivalence tests check them.
   */
  derived?(props: Record<string, unknown>): Fragment[];
  /** The construct's objects for these props, as `kubegate manifests` prints them. */
  synth(props: Record<string, unknown>): unknown[];
}
