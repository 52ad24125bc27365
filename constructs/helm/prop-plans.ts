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
 * maps of strings. Anything else is refused by name. An optional object with required fields
 * (a section such as the hub's `agentInstall`, which turns a feature on) is given or not as a
 * whole: it gets a plan of its own whose variant is its absence, and its leaves are planned as
 * if it were given (a required field has no absent variant, a default inside it is not
 * written into values.yaml, since Helm fills no defaults into a map the user leaves out).
 */
import { ChartPropUnsupportedError } from './chart-errors';
import { literalDefault, type PropDoc } from './prop-docs';
import { listElements, NUMBER_SENTINEL_SPACING, sentinelNumber, stringFamily } from './sentinel-families';

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
/** A section's base value: given, with each of its leaves set by its own plan. */
export const SECTION = Symbol('section');
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
  /** An optional object with required fields, present in the base; its variant is its absence. */
  readonly section?: true;
  /** Inside a section: its value expression. A field Helm users may leave out even with a default. */
  readonly inSection?: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const goString = (s: string) => JSON.stringify(s);

export function valueExpr(path: readonly string[]): string {
  return path.every((p) => IDENT.test(p)) ? `$.Values.${path.join('.')}` : `(index $.Values ${path.map(goString).join(' ')})`;
}

/** Every leaf prop of `schema`, in schema order, with its sentinels for `seed` (0 or 1: two runs must agree). */
export function planProps(schema: JsonSchema, docs: Readonly<Record<string, PropDoc>>, seed: number, options: PlanOptions = {}): PropPlan[] {
  const plans: PropPlan[] = [];
  // inSection: the value expression of the section the walk is in ('' outside one).
  const walk = (s: JsonSchema, path: string[], docsHere: Readonly<Record<string, PropDoc>>, requiredHere: boolean, inSection: string) => {
    const required = new Set<string>((s.required as string[] | undefined) ?? []);
    for (const [key, sub] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) {
      const doc = docsHere[key];
      const isRequired = requiredHere && required.has(key);
      if (sub.type === 'object' && sub.properties) {
        if (isSection(s, key)) {
          if (inSection) throw new ChartPropUnsupportedError([...path, key].join('.'), 'a section inside a section cannot be templated');
          plans.push(sectionPlan([...path, key], sub, doc));
          walk(sub, [...path, key], doc?.children ?? {}, true, valueExpr([...path, key]));
        } else walk(sub, [...path, key], doc?.children ?? {}, isRequired, inSection);
        continue;
      }
      plans.push(planLeaf([...path, key], sub, doc, isRequired, plans.length, seed, options, inSection));
    }
  };
  walk(schema, [], docs, true, '');
  return plans;
}

/** An optional object of `parent` with required fields of its own: given whole or not at all. */
export function isSection(parent: JsonSchema, key: string): boolean {
  const sub = (parent.properties as Record<string, JsonSchema> | undefined)?.[key];
  return !!sub && sub.type === 'object' && !!sub.properties && !((parent.required as string[] | undefined) ?? []).includes(key) && ((sub.required as string[] | undefined) ?? []).length > 0;
}

function sectionPlan(path: string[], schema: JsonSchema, doc: PropDoc | undefined): PropPlan {
  const v = valueExpr(path);
  return {
    name: path.join('.'),
    path,
    schema,
    ...(doc ? { doc } : {}),
    required: false,
    defaultValue: undefined,
    valueExpr: v,
    base: { label: 'given', value: SECTION, cond: '', fragments: [] },
    variants: [{ label: 'absent', value: ABSENT, cond: `(kindIs "invalid" ${v})`, fragments: [] }],
    section: true,
  };
}

/** What a chart source may say about its props' sentinels. */
export interface PlanOptions {
  /** Props left out of the base synthesis (the base holds a prop they exclude); their presence becomes the variant. */
  readonly baseAbsent?: readonly string[];
  /** Defaults the docs say in words (ports: xds 18000, ...), by prop: written into values.yaml like literal ones. */
  readonly defaults?: Readonly<Record<string, unknown>>;
  /** A sentinel for a prop whose pattern no family fits: from a unique token and number. */
  readonly sentinels?: Readonly<Record<string, (token: string, number: number) => string>>;
  /**
   * Counts the construct repeats output by (ChartSource.repeats): their sentinel is a dozen or
   * two, enough units for a run to show, few enough to keep every synthesis small.
   */
  readonly repeats?: readonly string[];
}

// Fewer units than number sentinels are apart, so that a sentinel + i is no other prop's.
const REPEAT_SENTINELS = { minimum: 8, maximum: Math.min(40, NUMBER_SENTINEL_SPACING - 1) };

function planLeaf(path: string[], schema: JsonSchema, doc: PropDoc | undefined, required: boolean, n: number, seed: number, options: PlanOptions, inSection: string): PropPlan {
  const overrides = options.sentinels;
  const baseAbsent = options.baseAbsent?.includes(path.join('.')) ?? false;
  const name = path.join('.');
  const v = valueExpr(path);
  const defaultValue = options.defaults?.[path.join('.')] ?? literalDefault(doc?.defaultText);
  // Present for every Helm user: required, or defaulted in values.yaml (which holds no section).
  const alwaysPresent = required || (defaultValue !== undefined && !inSection);
  const absent: Variant[] = alwaysPresent ? [] : [{ label: 'absent', value: ABSENT, cond: `(kindIs "invalid" ${v})`, fragments: [] }];
  const token = `kgs${seed}x${n}z`;
  // Inside a section, a variant holds only when the section is given: what it adds to the
  // output goes with the section (and its condition never reads a field of a missing map).
  const withinSection = (x: Variant): Variant => (inSection ? { ...x, cond: `(and (not (kindIs "invalid" ${inSection})) ${x.cond})` } : x);
  const plan = (base: Variant, variants: Variant[], collection?: CollectionPlan): PropPlan => ({ name, path, schema, ...(doc ? { doc } : {}), required, defaultValue, valueExpr: v, base, variants: variants.map(withinSection), ...(collection ? { collection } : {}), ...(inSection ? { inSection } : {}) });
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
      const sampled = options.repeats?.includes(name) ? { ...schema, minimum: Math.max(schema.minimum ?? 0, REPEAT_SENTINELS.minimum), maximum: Math.min(schema.maximum ?? Infinity, REPEAT_SENTINELS.maximum) } : schema;
      const value = sentinelNumber(seed, n, sampled, name);
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
