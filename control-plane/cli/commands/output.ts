/**
 * How commands print: aligned tables for people, JSON for scripts (`-o json`), the same
 * fields either way. Tables go to standard output; so does JSON, and nothing else is mixed
 * into it, so `kubegate user list -o json | jq` always works.
 */
import { flagRules, type FlagCheck } from '../flag-rules';

export type OutputFormat = 'table' | 'text' | 'json' | 'yaml';

/** The -o rule of each set of formats a command offers, compiled once. */
const outputRules = new Map<string, FlagCheck>();

/** The -o value, checked against what the command offers; the first is the default. */
export function outputFormat(value: string | undefined, allowed: readonly OutputFormat[], fallback: OutputFormat = allowed[0]!): OutputFormat {
  if (value === undefined) return fallback;
  const key = allowed.join(' or ');
  let check = outputRules.get(key);
  if (!check) {
    check = flagRules({ output: { enum: allowed, problems: { enum: `-o {text} is not an output format here; use ${key}` } } });
    outputRules.set(key, check);
  }
  check({ output: value });
  return value as OutputFormat;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Columns padded to the widest cell; a header row in capitals. Empty tables say so. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[], empty = 'nothing to show'): void {
  if (rows.length === 0) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  process.stdout.write([line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n') + '\n');
}

/** `key: value` lines with the keys aligned, for one object. */
export function printFields(fields: readonly (readonly [string, string])[]): void {
  const width = Math.max(...fields.map(([k]) => k.length)) + 1;
  process.stdout.write(fields.map(([k, v]) => `${(k + ':').padEnd(width + 1)}${v}`.trimEnd()).join('\n') + '\n');
}

/** Help lines for -o: listings print tables, changes print one line of text. */
export const TABLE_OUTPUT_HELP = '  -o, --output FORMAT   table (default) or json\n';
export const TEXT_OUTPUT_HELP = '  -o, --output FORMAT   text (default) or json\n';
export const OUTPUT_OPTION = { output: { type: 'string', short: 'o' } } as const;

export const list = (items: readonly string[], none = '-') => (items.length > 0 ? items.join(',') : none);
