/**
 * Props from the command line, as Helm users write values: `--set prop.key=v` (a key of a
 * mapping prop, which may itself hold dots: labels.app.kubernetes.io/name), `--set list={x,y}` (a list of strings), numbers and true/false typed as such, and
 * `--set-file key=PATH` for a value read from a file (a CA certificate). What the props must
 * be is the construct's own check; this only builds the object and names a malformed --set.
 */
import * as fs from 'node:fs';
import { UsageError } from './cli-error';

type Values = Record<string, unknown>;

export function setValues(sets: readonly string[], files: readonly string[], readFile: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')): Values {
  const values: Values = {};
  for (const s of sets) {
    const [key, raw] = splitAssignment(s, '--set');
    assign(values, key, typed(raw), `--set ${s}`);
  }
  for (const s of files) {
    const [key, file] = splitAssignment(s, '--set-file');
    let text: string;
    try {
      text = readFile(file);
    } catch (err) {
      throw new UsageError(`--set-file ${s}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    assign(values, key, text, `--set-file ${s}`);
  }
  return values;
}

function splitAssignment(s: string, flag: string): [string, string] {
  const eq = s.indexOf('=');
  const key = eq > 0 ? s.slice(0, eq) : '';
  // A prop, then at most one key below it, which may hold dots and slashes (a label's name).
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[^.=\s][^=\s]*)?$/.test(key)) throw new UsageError(`${flag} "${s}" must be KEY=VALUE with KEY a prop or prop.key, such as images.agent`);
  return [key, s.slice(eq + 1)];
}

/** {a,b} is a list, whole numbers are numbers, true/false are booleans; anything else is text. */
function typed(raw: string): unknown {
  if (/^\{.*\}$/.test(raw)) return raw.slice(1, -1) === '' ? [] : raw.slice(1, -1).split(',');
  if (/^(0|[1-9]\d{0,14})$/.test(raw)) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw;
}

function assign(values: Values, key: string, value: unknown, what: string): void {
  // The first segment names a prop; the rest may be label keys holding dots (labels.app.kubernetes.io/name is not split further).
  const [head, ...rest] = key.split('.');
  if (rest.length === 0) {
    values[head!] = value;
    return;
  }
  const existing = values[head!];
  if (existing !== undefined && (typeof existing !== 'object' || existing === null || Array.isArray(existing))) throw new UsageError(`${what}: ${head} was already given a value that is not a mapping`);
  const inner = (existing as Values | undefined) ?? {};
  inner[rest.join('.')] = value;
  values[head!] = inner;
}
