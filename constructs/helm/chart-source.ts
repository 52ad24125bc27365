/**
 * What the generator needs of a construct to make a chart of it: how to synthesise it from
 * props, the JSON Schema its props are checked with, and where its props interface is
 * declared (for the docs). One small object per construct (agent-chart-source.ts, ...).
 */
import type { JsonSchema } from './prop-plans';

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
  readonly refusals?: readonly { readonly when: string; readonly message: string }[];
  /** The construct's objects for these props, as `kubegate manifests` prints them. */
  synth(props: Record<string, unknown>): unknown[];
}
