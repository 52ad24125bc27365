/**
 * How each prop is traced through the construct. The construct is synthesised with a sentinel
 * for every prop (a value that cannot occur by chance, and that its schema accepts); wherever
 * a sentinel shows up in the output, the template says `.Values.<prop>` instead. Props that
 * change the output's shape rather than a value get variants: a second synthesis with the prop
 * absent, empty, or of another class (an IP instead of a host name), whose differences become
 * `if` blocks guarded by the variant's condition.
 *
 * One plan per leaf of the props schema (objects with fixed properties are walked into):
 * strings (plain, HOST:PORT, PEM certificate), integers, booleans, enums, lists of strings and
 * maps of strings. Anything else is refused by name.
 */
import { ChartPropUnsupportedError } from './chart-errors';
import { literalDefault, type PropDoc } from './prop-docs';

export type JsonSchema = Record<string, any>;

/** A piece of a sentinel that may appear in the output, and the template expression for it. */
export interface Fragment {
  readonly text?: string;
  readonly number?: number;
  readonly expr: string;
}

/** The props' value in one synthesis, and the condition under which a Helm user's values match it. */
export interface Variant {
  readonly label: string;
  /** ABSENT: the prop is left out. */
  readonly value: unknown;
  /** A template condition true exactly when the values are of this variant ('' for the base). */
  readonly cond: string;
  readonly fragments: readonly Fragment[];
}

export const ABSENT = Symbol('absent');
/** For a companion: the prop's `present` variant (of a prop absent from the base). */
export const PRESENT = Symbol('present');

/** A list or map prop: synthesised with two elements, whose repeated output becomes a `range`. */
export interface CollectionPlan {
  readonly kind: 'list' | 'map';
  /** The range variables: [$e] or [$k, $v]. */
  readonly vars: readonly string[];
  /** The sentinels of the first element, and what replaces them inside the range. */
  readonly first: readonly Fragment[];
  /** The first element's sentinel texts mapped to the second's: a unit of output repeats with this swap. */
  readonly swap: readonly (readonly [string, string])[];
  /** Values probing how the construct orders elements (reversed) and whether it drops duplicates. */
  readonly reversed: unknown;
  readonly duplicated: unknown;
}

export interface PropPlan {
  /** Dotted: images.agent */
  readonly name: string;
  readonly path: readonly string[];
  readonly schema: JsonSchema;
  readonly doc?: PropDoc;
  /** Required by the schema, along the whole path. */
  readonly required: boolean;
  /** A literal @default, written into values.yaml (so always present for Helm). */
  readonly defaultValue: unknown;
  /** `$.Values.images.agent` */
  readonly valueExpr: string;
  readonly base: Variant;
  readonly variants: readonly Variant[];
  readonly collection?: CollectionPlan;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const goString = (s: string) => JSON.stringify(s);

export function valueExpr(path: readonly string[]): string {
  return path.every((p) => IDENT.test(p)) ? `$.Values.${path.join('.')}` : `(index $.Values ${path.map(goString).join(' ')})`;
}

/** Every leaf prop of `schema`, in schema order, with its sentinels for `seed` (0 or 1: two runs must agree). */
export function planProps(schema: JsonSchema, docs: Readonly<Record<string, PropDoc>>, seed: number, options: PlanOptions = {}): PropPlan[] {
  const plans: PropPlan[] = [];
  const walk = (s: JsonSchema, path: string[], docsHere: Readonly<Record<string, PropDoc>>, requiredHere: boolean) => {
    const required = new Set<string>((s.required as string[] | undefined) ?? []);
    for (const [key, sub] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) {
      const doc = docsHere[key];
      const isRequired = requiredHere && required.has(key);
      if (sub.type === 'object' && sub.properties) {
        walk(sub, [...path, key], doc?.children ?? {}, isRequired);
        continue;
      }
      plans.push(planLeaf([...path, key], sub, doc, isRequired, plans.length, seed, options));
    }
  };
  walk(schema, [], docs, true);
  return plans;
}

/** What a chart source may say about its props' sentinels. */
export interface PlanOptions {
  /** Props left out of the base synthesis (the base holds a prop they exclude); their presence becomes the variant. */
  readonly baseAbsent?: readonly string[];
  /** Defaults the docs say in words (ports: xds 18000, ...), by prop: written into values.yaml like literal ones. */
  readonly defaults?: Readonly<Record<string, unknown>>;
  /** A sentinel for a prop whose pattern no family fits: from a unique token and number. */
  readonly sentinels?: Readonly<Record<string, (token: string, number: number) => string>>;
}

function planLeaf(path: string[], schema: JsonSchema, doc: PropDoc | undefined, required: boolean, n: number, seed: number, options: PlanOptions): PropPlan {
  const overrides = options.sentinels;
  const baseAbsent = options.baseAbsent?.includes(path.join('.')) ?? false;
  const name = path.join('.');
  const v = valueExpr(path);
  const defaultValue = options.defaults?.[path.join('.')] ?? literalDefault(doc?.defaultText);
  // Present for every Helm user: required, or defaulted in values.yaml.
  const alwaysPresent = required || defaultValue !== undefined;
  const absent: Variant[] = alwaysPresent ? [] : [{ label: 'absent', value: ABSENT, cond: `(kindIs "invalid" ${v})`, fragments: [] }];
  const token = `kgs${seed}x${n}z`;
  const plan = (base: Variant, variants: Variant[], collection?: CollectionPlan): PropPlan => ({ name, path, schema, ...(doc ? { doc } : {}), required, defaultValue, valueExpr: v, base, variants, ...(collection ? { collection } : {}) });
  const fits = (value: unknown) => schema.pattern === undefined || (typeof value === 'string' && new RegExp(schema.pattern as string).test(value));

  if (Array.isArray(schema.enum)) {
    const [first, ...others] = schema.enum as unknown[];
    return plan(
      { label: 'base', value: first, cond: '', fragments: [] },
      [...others.map((o) => ({ label: `= ${JSON.stringify(o)}`, value: o, cond: `(eq (toString ${v}) ${goString(String(o))})`, fragments: [] })), ...absent],
    );
  }
  switch (schema.type) {
    case 'string': {
      const family = stringFamily(token, n, seed, v, schema, name, overrides?.[name]);
      // A class of values (an IP host, whole CPUs) holds only when the value is given at all.
      const classes = alwaysPresent ? family.variants : family.variants.map((x) => ({ ...x, cond: `(and (not (kindIs "invalid" ${v})) ${x.cond})` }));
      if (!baseAbsent) return plan({ label: 'base', value: family.value, cond: '', fragments: family.fragments }, [...classes, ...absent]);
      // Absent in the base (it excludes a prop the base has): its presence is the variant.
      const present = `(not (kindIs "invalid" ${v}))`;
      return plan({ label: 'absent', value: ABSENT, cond: '', fragments: [] }, [
        { label: 'present', value: family.value, cond: present, fragments: family.fragments },
        ...family.variants.map((x) => ({ ...x, cond: `(and ${present} ${x.cond})` })),
      ]);
    }
    case 'integer':
    case 'number': {
      const value = sentinelNumber(seed, n, schema, name);
      // A count may change the shape at its least (one replica needs no disruption budget).
      const least = schema.minimum === 0 || schema.minimum === 1 ? [{ label: 'the least', value: schema.minimum as number, cond: `(le (int ${v}) ${schema.minimum as number})`, fragments: [] }] : [];
      return plan({ label: 'base', value, cond: '', fragments: [{ number: value, expr: v }] }, [...least, ...absent]);
    }
    case 'boolean':
      return plan({ label: 'base', value: true, cond: '', fragments: [] }, [{ label: 'false', value: false, cond: `(not ${v})`, fragments: [] }, ...absent]);
    case 'array': {
      if (schema.items?.type !== 'string') throw new ChartPropUnsupportedError(name, 'only lists of strings can be templated');
      const [e1, e2] = listElements(seed, n, schema.items as JsonSchema, name);
      const variable = `$e${n}`;
      return plan({ label: 'base', value: [e1, e2], cond: '', fragments: [] }, [{ label: 'empty', value: [], cond: `(empty ${v})`, fragments: [] }], {
        kind: 'list', vars: [variable], first: [{ text: e1, expr: variable }], swap: [[e1, e2]], reversed: [e2, e1], duplicated: [e1, e2, e1],
      });
    }
    case 'object': {
      const values = schema.additionalProperties;
      if (typeof values !== 'object' || values.type !== 'string' || values.pattern !== undefined || schema.propertyNames) throw new ChartPropUnsupportedError(name, 'only maps of unconstrained strings can be templated');
      const [k1, v1, k2, v2] = ['k1', 'v1', 'k2', 'v2'].map((s) => `kgs${seed}x${n}${s}z`) as [string, string, string, string];
      const [kv, vv] = [`$k${n}`, `$v${n}`];
      return plan({ label: 'base', value: { [k1]: v1, [k2]: v2 }, cond: '', fragments: [] }, [{ label: 'empty', value: {}, cond: `(empty ${v})`, fragments: [] }], {
        kind: 'map', vars: [kv, vv], first: [{ text: k1, expr: kv }, { text: v1, expr: vv }], swap: [[k1, k2], [v1, v2]], reversed: { [k2]: v2, [k1]: v1 }, duplicated: { [k1]: v1, [k2]: v2 },
      });
    }
    default:
      throw new ChartPropUnsupportedError(name, `type ${JSON.stringify(schema.type)} cannot be templated`);
  }
}

interface Family {
  readonly value: string;
  readonly fragments: readonly Fragment[];
  readonly variants: readonly Variant[];
}

const HOST_OF_HOST_PORT = (v: string) => `(regexReplaceAll "^\\\\[(.*)\\\\]$" (regexReplaceAll ":[0-9]+$" ${v} "") "$\{1}")`;
const HOST_OF_URL = (v: string) => `(lower (regexReplaceAll "^https?://\\\\[?([^\\\\]/]*?)\\\\]?(:[0-9]+)?/?$" ${v} "$\{1}"))`;

/**
 * The first sentinel family whose value the prop's pattern accepts: a plain token, a PEM
 * certificate, HOST:PORT, an https URL, a quantity or duration (a number with a unit), an IPv4
 * CIDR, or the chart source's own. HOST:PORT and URLs also give their host and port on their
 * own (a construct may split them), and are tried with IPv4 and IPv6 hosts, and URLs without
 * a port, as variants.
 */
function stringFamily(token: string, n: number, seed: number, v: string, schema: JsonSchema, name: string, override: ((token: string, number: number) => string) | undefined): Family {
  const fits = (value: string) => schema.pattern === undefined || new RegExp(schema.pattern as string).test(value);
  const port = sentinelNumber(seed, n, {}, name, { minimum: 1, maximum: 65535 });
  const whole = (value: string): Family => ({ value, fragments: [{ text: value, expr: v }], variants: [] });
  // Conditions and derived parts read the value as text: an absent one is "<nil>", not an error.
  const text = `(toString ${v})`;
  if (override) {
    const value = override(token, port);
    if (!fits(value)) throw new ChartPropUnsupportedError(name, `its chart source's sentinel ${JSON.stringify(value)} does not fit its pattern`);
    return whole(value);
  }
  if (fits(token)) return whole(token);
  const pem = `-----BEGIN CERTIFICATE-----\n${token}\n-----END CERTIFICATE-----\n`;
  if (fits(pem)) return whole(pem);
  const [ipv4, ipv6] = [`10.${seed}.${n}.77`, `fd00::${seed}:${n}:77`];
  if (fits(`${token}.invalid:${port}`)) {
    const host = HOST_OF_HOST_PORT(text);
    const portExpr = `(regexFind "[0-9]+$" ${text} | int)`;
    const of = (label: string, hostText: string, value: string, cond: string): Variant => ({ label, value, cond, fragments: [{ text: value, expr: v }, { text: hostText, expr: host }, { number: port, expr: portExpr }] });
    const base = of('base', `${token}.invalid`, `${token}.invalid:${port}`, '');
    return { value: base.value as string, fragments: base.fragments, variants: [of('IPv4 host', ipv4, `${ipv4}:${port}`, `(regexMatch "^[0-9.]+$" ${host})`), of('IPv6 host', ipv6, `[${ipv6}]:${port}`, `(contains ":" ${host})`)] };
  }
  if (fits(`https://${token}.invalid:${port}`)) {
    const host = HOST_OF_URL(text);
    const trimmed = `(trimSuffix "/" ${text})`;
    const portExpr = `(regexFind "[0-9]+/?$" ${text} | trimSuffix "/" | int)`;
    const of = (label: string, hostText: string, value: string, cond: string, withPort = true): Variant => ({
      label, value, cond,
      fragments: [{ text: value, expr: trimmed }, { text: hostText, expr: host }, ...(withPort ? [{ number: port, expr: portExpr }] : [])],
    });
    const base = of('base', `${token}.invalid`, `https://${token}.invalid:${port}`, '');
    const portless = `(not (regexMatch ":[0-9]+/?$" ${text}))`;
    const variants = [
      of('without a port', `${token}.invalid`, `https://${token}.invalid`, portless, false),
      ...(fits(`https://${ipv4}:${port}`) ? [of('IPv4 host', ipv4, `https://${ipv4}:${port}`, `(regexMatch "^[0-9.]+$" ${host})`)] : []),
      ...(fits(`https://[${ipv6}]:${port}`) ? [of('IPv6 host', ipv6, `https://[${ipv6}]:${port}`, `(contains ":" ${host})`)] : []),
    ];
    return { value: base.value as string, fragments: base.fragments, variants };
  }
  // Quantities: a construct may rewrite one unit in another (1Gi as 1024Mi, 2 CPUs as 2000m),
  // so the other unit is a variant, its value traced through the conversion.
  if (fits(`${port}m`)) {
    // Fractional, so that a count derived from it (rounded up) differs from the value itself.
    const cores = `${4100 + seed * 50 + n}.5`;
    const variant = fits(cores) ? [{ label: 'CPUs', value: cores, cond: `(not (hasSuffix "m" ${text}))`, fragments: [{ text: cores, expr: v }, { number: Number(cores) * 1000, expr: `(mulf (float64 ${text}) 1000 | int)` }] }] : [];
    return { ...whole(`${port}m`), variants: variant };
  }
  if (fits(`${port}Mi`)) {
    const gi = 300 + seed * 50 + n;
    const variant = fits(`${gi}Gi`) ? [{ label: 'in Gi', value: `${gi}Gi`, cond: `(hasSuffix "Gi" ${text})`, fragments: [{ text: `${gi}Gi`, expr: v }, { number: gi * 1024, expr: `(mul (int (trimSuffix "Gi" ${text})) 1024)` }] }] : [];
    return { ...whole(`${port}Mi`), variants: variant };
  }
  for (const unit of ['s', '']) if (fits(`${port}${unit}`)) return whole(`${port}${unit}`);
  if (fits(`${ipv4.replace(/\.77$/, '.0')}/24`)) return whole(`${ipv4.replace(/\.77$/, '.0')}/24`);
  throw new ChartPropUnsupportedError(name, `no sentinel fits its pattern ${schema.pattern as string}`);
}

/** Two elements of a list prop, in sorted order, that its items' pattern accepts. */
function listElements(seed: number, n: number, items: JsonSchema, name: string): [string, string] {
  const fits = (value: string) => items.pattern === undefined || new RegExp(items.pattern as string).test(value);
  for (const [a, b] of [[`kgs${seed}x${n}e1z`, `kgs${seed}x${n}e2z`], [`10.${seed}.${n}.0/24`, `10.${seed}.${n}.128/25`]] as const) if (fits(a) && fits(b)) return [a, b];
  throw new ChartPropUnsupportedError(name, `no list sentinel fits its items' pattern ${items.pattern as string}`);
}

/** A number unlikely elsewhere in the output; in a small range (a replica count), one inside it. */
function sentinelNumber(seed: number, n: number, schema: JsonSchema, name: string, bounds: { minimum?: number; maximum?: number } = {}): number {
  const value = 41000 + seed * 500 + n * 13;
  const min = (schema.minimum as number | undefined) ?? bounds.minimum ?? -Infinity;
  const max = (schema.maximum as number | undefined) ?? bounds.maximum ?? Infinity;
  if (value >= min && value <= max) return value;
  if (max - min >= 20) return min + 2 + ((seed * 11 + n * 7 + 19) % (max - min - 2));
  throw new ChartPropUnsupportedError(name, `no sentinel number fits ${min}..${max}`);
}
