/**
 * Why a chart could not be generated, one class per failure with a stable code: the CLI turns
 * them into messages, and a test can tell a construct the generator cannot follow (which needs
 * the generator taught something) from a mistake of the person running it.
 */

/** A prop whose schema the generator has no sentinel for (it cannot trace it through the construct). */
export class ChartPropUnsupportedError extends Error {
  readonly code = 'ERR_CHART_PROP_UNSUPPORTED';
  constructor(readonly prop: string, reason: string) {
    super(`cannot template prop ${prop}: ${reason}`);
    this.name = 'ChartPropUnsupportedError';
  }
}

/** The construct's output depends on props in a way a template cannot be derived from (overlapping or untraced effects). */
export class ChartShapeUnsupportedError extends Error {
  readonly code = 'ERR_CHART_SHAPE_UNSUPPORTED';
  constructor(message: string) {
    super(`cannot derive a template from the construct: ${message}`);
    this.name = 'ChartShapeUnsupportedError';
  }
}

/** The props interface or a prop's docs could not be read from the construct's source. */
export class ChartDocsError extends Error {
  readonly code = 'ERR_CHART_DOCS';
  constructor(message: string) {
    super(message);
    this.name = 'ChartDocsError';
  }
}

/** The output directory exists and holds files, and --force was not given. */
export class ChartOutDirError extends Error {
  readonly code = 'ERR_CHART_OUT_DIR';
  constructor(readonly dir: string) {
    super(`${dir} exists and is not empty; give --force to replace the chart in it`);
    this.name = 'ChartOutDirError';
  }
}

/** No chart of that name. */
export class UnknownChartError extends Error {
  readonly code = 'ERR_CHART_UNKNOWN';
  constructor(readonly chart: string, known: readonly string[]) {
    super(`no chart "${chart}"; known: ${known.join(', ')}`);
    this.name = 'UnknownChartError';
  }
}
