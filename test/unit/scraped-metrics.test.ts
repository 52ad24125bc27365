/**
 * Metrics read at scrape time (control-plane/metrics/scraped-metrics.ts): every module's
 * /metrics text goes through these, so their rendering is pinned here: each scrape reads the
 * counts again, "no reading" lists HELP and TYPE without a sample, label sets keep their order,
 * label values are escaped, and the text has no empty lines (one comment or sample per line,
 * as /metrics was before prom-client rendered it).
 */
import { Registry } from 'prom-client';
import { renderMetrics, scrapedCounter, scrapedGauge } from '../../control-plane/metrics/scraped-metrics';

test('each scrape reads the current counts, in the order the metrics were registered', async () => {
  const registry = new Registry();
  let total = 1;
  let now: number | undefined;
  scrapedCounter(registry, { name: 'demo_things_total', help: 'Things done.', read: () => total });
  scrapedGauge(registry, { name: 'demo_backlog', help: 'Things waiting.', read: () => now });
  expect(await renderMetrics([registry])).toBe(
    ['# HELP demo_things_total Things done.', '# TYPE demo_things_total counter', 'demo_things_total 1', '# HELP demo_backlog Things waiting.', '# TYPE demo_backlog gauge', ''].join('\n'),
  );
  total = 5;
  now = 0;
  const text = await renderMetrics([registry]);
  expect(text).toMatch(/^demo_things_total 5$/m);
  expect(text).toMatch(/^demo_backlog 0$/m);
  now = undefined;
  expect(await renderMetrics([registry])).not.toMatch(/^demo_backlog /m);
});

test('label sets are listed in the order read, label values escaped, and no line is empty', async () => {
  const a = new Registry();
  const b = new Registry();
  let readings: Array<readonly [Record<string, string>, number]> = [
    [{ exporter: 'z', kind: 'webhook' }, 2],
    [{ exporter: 'a"b\\c\nd', kind: 'jsonl-file' }, 0],
  ];
  scrapedCounter(a, { name: 'demo_sent_total', help: 'Sent.', labelNames: ['exporter', 'kind'], read: () => readings });
  scrapedGauge(b, { name: 'demo_lag', help: 'Lag.', read: () => 3 });
  const text = await renderMetrics([a, b]);
  expect(text).toBe(
    [
      '# HELP demo_sent_total Sent.',
      '# TYPE demo_sent_total counter',
      'demo_sent_total{exporter="z",kind="webhook"} 2',
      'demo_sent_total{exporter="a\\"b\\\\c\\nd",kind="jsonl-file"} 0',
      '# HELP demo_lag Lag.',
      '# TYPE demo_lag gauge',
      'demo_lag 3',
      '',
    ].join('\n'),
  );
  // A label set no longer read is no longer listed.
  readings = [[{ exporter: 'z', kind: 'webhook' }, 4]];
  expect(await renderMetrics([a])).toBe('# HELP demo_sent_total Sent.\n# TYPE demo_sent_total counter\ndemo_sent_total{exporter="z",kind="webhook"} 4\n');
});
