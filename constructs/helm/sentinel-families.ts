/**
 * Sentinel values for props whose schema has a pattern: families of values tried in turn until
 * the pattern accepts one (a token, a PEM certificate, HOST:PORT, an https URL, a quantity or
 * duration, an IPv4 CIDR), each with the parts of it a construct may use on their own (a
 * URL's host) and the classes of value it may treat apart (an IP host, memory in Gi) as
 * variants. Numbers get a value unlikely to occur by chance, inside the schema's range.
 */
import { ChartPropUnsupportedError } from './chart-errors';
import type { Fragment, JsonSchema, Variant } from './prop-plans';

export interface Family {
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
export function stringFamily(token: string, n: number, seed: number, v: string, schema: JsonSchema, name: string, override: ((token: string, number: number) => string) | undefined): Family {
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
  const [ipv4, ipv6] = [`10.${seed}.${n}.77`, `fd00::${seed + 1}:${n}:77`];
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
export function listElements(seed: number, n: number, items: JsonSchema, name: string): [string, string] {
  const fits = (value: string) => items.pattern === undefined || new RegExp(items.pattern as string).test(value);
  for (const [a, b] of [[`kgs${seed}x${n}e1z`, `kgs${seed}x${n}e2z`], [`10.${seed}.${n}.0/24`, `10.${seed}.${n}.128/25`]] as const) if (fits(a) && fits(b)) return [a, b];
  throw new ChartPropUnsupportedError(name, `no list sentinel fits its items' pattern ${items.pattern as string}`);
}

/**
 * Props' number sentinels are this far apart: a repeat's numbers (a port + i, prop-plans.ts)
 * stay below the next prop's, which a construct may check them against (nodePorts that clash).
 */
export const NUMBER_SENTINEL_SPACING = 47;

/** A number unlikely elsewhere in the output; in a small range (a replica count), one inside it. */
export function sentinelNumber(seed: number, n: number, schema: JsonSchema, name: string, bounds: { minimum?: number; maximum?: number } = {}): number {
  const value = 41000 + seed * 500 + n * NUMBER_SENTINEL_SPACING;
  const min = (schema.minimum as number | undefined) ?? bounds.minimum ?? -Infinity;
  const max = (schema.maximum as number | undefined) ?? bounds.maximum ?? Infinity;
  if (value >= min && value <= max) return value;
  if (max - min >= 20) {
    // Inside a small range, round numbers (powers of two, multiples of ten) are what constructs
    // and other props' enums write as literals (userShards: 64): such a sentinel would be
    // taken for the prop where it is only a coincidence, so the next unround number is used.
    const span = max - min - 2;
    for (let step = 0; step < span; step++) {
      const candidate = min + 2 + ((seed * 11 + n * 7 + 19 + step) % span);
      if (candidate % 10 !== 0 && (candidate & (candidate - 1)) !== 0) return candidate;
    }
  }
  throw new ChartPropUnsupportedError(name, `no sentinel number fits ${min}..${max}`);
}
