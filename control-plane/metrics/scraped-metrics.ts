/**
 * Prometheus metrics read at scrape time from counts a module already keeps (the same counts
 * feed /status), rendered by prom-client. Why prom-client: it is the well-kept Node client, so
 * the exposition format (HELP/TYPE lines, label and help escaping, number formatting, content
 * type) is its, not text we assemble and escape by hand in every module.
 *
 * Each module owns a Registry of its metrics; the control plane merges them into /metrics.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export type Labels = Readonly<Record<string, string>>;
/**
 * What a metric reads at each scrape: one value (no labels), one value per label set (in the
 * order given, which is the order they are listed), or undefined for "no sample now" (the
 * metric's HELP and TYPE are still listed).
 */
export type Reading = number | undefined | ReadonlyArray<readonly [Labels, number]>;

export interface ScrapedMetric {
  readonly name: string;
  readonly help: string;
  /** Label names, when the reading is per label set. @default none */
  readonly labelNames?: readonly string[];
  readonly read: () => Reading;
}

/** A counter whose value is a running total the module keeps. */
export function scrapedCounter(registry: Registry, metric: ScrapedMetric): void {
  new Counter({ ...config(registry, metric), collect() { refill(this, metric.read(), (labels, value) => this.inc(labels, value)); } });
}

/** A gauge whose value the module knows now. */
export function scrapedGauge(registry: Registry, metric: ScrapedMetric): void {
  new Gauge({ ...config(registry, metric), collect() { refill(this, metric.read(), (labels, value) => this.set(labels, value)); } });
}

/** The Prometheus text of these registries, in order (the status endpoint's /metrics). */
export async function renderMetrics(registries: readonly Registry[]): Promise<string> {
  const text = await Registry.merge([...registries]).metrics();
  // prom-client puts an empty line between metric families; the format ignores empty lines,
  // and without them every line is a comment or a sample, as /metrics has always been. (A
  // newline inside a help text or label value is escaped, so "\n\n" only ever separates.)
  return text.replace(/\n\n+/g, '\n');
}

/** The content type of that text. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

function config(registry: Registry, metric: ScrapedMetric): { name: string; help: string; labelNames: string[]; registers: Registry[] } {
  return { name: metric.name, help: metric.help, labelNames: [...(metric.labelNames ?? [])], registers: [registry] };
}

/** Replaces what the metric held with this scrape's reading. */
function refill(target: Counter | Gauge, reading: Reading, put: (labels: Labels, value: number) => void): void {
  target.reset();
  if (reading === undefined) {
    // reset() leaves an unlabelled metric at 0; no reading means no sample at all.
    target.remove({});
    return;
  }
  if (typeof reading === 'number') return put({}, reading);
  for (const [labels, value] of reading) put(labels, value);
}
