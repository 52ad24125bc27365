/**
 * The query-string half of kube-apiserver's request attributes: how a GET without a name becomes
 * `list` or `watch`, and when `fieldSelector=metadata.name=X` names the object. kube-apiserver
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go, RequestInfoFactory.NewRequestInfo)
 * decodes the whole query into ListOptions first and only trusts the field selector when that
 * decoding succeeds, so this module reproduces the parts of that decoding that can fail:
 *
 * - Go's url.ParseQuery (net/url): `&`-separated pairs; a pair containing `;` is dropped; a pair
 *   whose key or value has a malformed %-escape is dropped; `+` means space; first value wins.
 * - Convert_url_Values_To_v1_ListOptions (apimachinery meta/v1, generated) with the string
 *   conversions of apimachinery/pkg/runtime/conversion.go: `limit` and `timeoutSeconds` go
 *   through strconv.ParseInt and fail on anything but a base-10 int64; booleans never fail.
 * - the v1 -> internal conversion, which parses `fieldSelector` (apimachinery/pkg/fields,
 *   ParseSelector) and `labelSelector` (apimachinery/pkg/labels, Parse) and fails on bad syntax.
 *
 * Everything here works on "byte strings": a JS string whose code units are the bytes of the
 * decoded Go string (latin1). Go strings are bytes, a %-escape may produce any byte, and byte
 * order is what Go's sort and comparisons use; text is decoded as UTF-8 only at the end.
 */

/** A Go url.Values: key -> values in order of appearance, all as byte strings. */
export type GoQuery = ReadonlyMap<string, readonly string[]>;

const HEX = /^[0-9A-Fa-f]{2}$/;

/** url.QueryUnescape: `+` is space, %XX is a byte; null where Go returns an error. */
function queryUnescape(s: string): string | null {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return null;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else if (c === '+') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

/** url.ParseQuery, keeping what Go keeps when it also reports an error (as URL.Query() does). */
export function parseGoQuery(rawQuery: string): GoQuery {
  const values = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = queryUnescape(eq === -1 ? pair : pair.slice(0, eq));
    const value = queryUnescape(eq === -1 ? '' : pair.slice(eq + 1));
    if (key === null || value === null) continue;
    const list = values.get(key);
    if (list) list.push(value);
    else values.set(key, [value]);
  }
  return values;
}

/** Decodes a byte string as UTF-8; null when the bytes are not valid UTF-8. */
export function utf8FromBytes(bytes: string): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(bytes, 'latin1'));
  } catch {
    return null;
  }
}

/** strconv.ParseInt(s, 10, 64) succeeds: optional sign, decimal digits, within int64. */
export function isGoInt64(s: string): boolean {
  const m = /^([+-]?)([0-9]+)$/.exec(s);
  if (!m) return false;
  const n = BigInt(m[2]!);
  return m[1] === '-' ? n <= 9223372036854775808n : n <= 9223372036854775807n;
}

/**
 * Convert_Slice_string_To_bool (runtime/conversion.go): false only for "0" or a value that
 * strings.EqualFold matches to "false". EqualFold uses Unicode simple folding, under which
 * U+017F (long s) equals "s"; no other non-ASCII rune folds onto a letter of "false".
 */
export function goQueryBool(value: string): boolean {
  if (value === '0') return false;
  const text = utf8FromBytes(value);
  if (text === null || [...text].length !== 5) return true;
  const folded = [...text].map((c) => (c === '\u017f' ? 's' : /[A-Z]/.test(c) ? c.toLowerCase() : c)).join('');
  return folded !== 'false';
}

/**
 * requestinfo.go's fallback when ListOptions fail to decode: strings.ToLower(value) is neither
 * "false" nor "0". ToLower maps no non-ASCII rune onto a letter of "false", so ASCII lowering of
 * the bytes is exact.
 */
export function fallbackWatchBool(value: string): boolean {
  const lower = value.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return lower !== 'false' && lower !== '0';
}

// ---------------------------------------------------------------------------------------------
// Field selectors: apimachinery/pkg/fields/selector.go (parseSelector, splitTerms, splitTerm,
// UnescapeValue, RequiresExactMatch).

interface FieldTerm {
  readonly field: string;
  readonly equals: boolean; // `=` or `==`; false for `!=`
  readonly value: string;
}

/** Splits on commas that a backslash does not escape; the backslash stays in the term. */
function splitFieldTerms(selector: string): string[] {
  if (selector === '') return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

/**
 * Field selector values: `\\`, `\,` and `\=` are escapes; any other `\x`, or a bare `,`/`=`, fails.
 *
 * Like fields.UnescapeValue, a value with none of `\`, `,` and `=` comes back byte for byte.
 * Otherwise Go walks it rune by rune (`for _, c := range s`) and writes each rune back, which
 * turns every byte that is not part of valid UTF-8 into U+FFFD; the same happens here, so the
 * name the edge derives is the name kube-apiserver derives.
 */
function unescapeFieldValue(raw: string): string | null {
  if (!/[\\,=]/.test(raw)) return raw;
  let out = '';
  let escaped = false;
  for (const c of goRunes(raw)) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') return null;
      out += c;
      escaped = false;
    } else if (c === '\\') escaped = true;
    else if (c === ',' || c === '=') return null;
    else out += c;
  }
  return escaped ? null : Buffer.from(out, 'utf8').toString('latin1');
}

/**
 * The runes Go's `range` over a string yields for a byte string: valid UTF-8 sequences
 * (no overlong forms, no surrogates, at most U+10FFFF) decode to their rune; any other byte
 * yields U+FFFD and advances by one byte (utf8.DecodeRuneInString's (RuneError, 1)).
 */
function* goRunes(bytes: string): Generator<string> {
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes.charCodeAt(i);
    if (b0 < 0x80) {
      yield bytes[i]!;
      i += 1;
      continue;
    }
    const [need, min, lo, hi] =
      b0 >= 0xc2 && b0 <= 0xdf ? [1, 0x80, 0x80, 0xbf]
      : b0 === 0xe0 ? [2, 0x800, 0xa0, 0xbf]
      : b0 === 0xed ? [2, 0x800, 0x80, 0x9f]
      : b0 >= 0xe1 && b0 <= 0xef ? [2, 0x800, 0x80, 0xbf]
      : b0 === 0xf0 ? [3, 0x10000, 0x90, 0xbf]
      : b0 >= 0xf1 && b0 <= 0xf3 ? [3, 0x10000, 0x80, 0xbf]
      : b0 === 0xf4 ? [3, 0x10000, 0x80, 0x8f]
      : [0, 0, 0, 0];
    let cp = need === 1 ? b0 & 0x1f : need === 2 ? b0 & 0x0f : b0 & 0x07;
    let ok = need > 0 && i + need < bytes.length + 1;
    for (let k = 1; ok && k <= need; k++) {
      const b = bytes.charCodeAt(i + k);
      // The second byte has a narrower range for E0, ED, F0 and F4 (overlongs, surrogates, > U+10FFFF).
      const [l, h] = k === 1 ? [lo, hi] : [0x80, 0xbf];
      if (Number.isNaN(b) || b < l || b > h) ok = false;
      else cp = (cp << 6) | (b & 0x3f);
    }
    if (!ok || cp < min) {
      yield '\ufffd';
      i += 1;
      continue;
    }
    yield String.fromCodePoint(cp);
    i += need + 1;
  }
}

/** fields.ParseSelector; null where it returns an error. Terms come back in Go's sorted order. */
export function parseFieldSelector(selector: string): FieldTerm[] | null {
  const terms: FieldTerm[] = [];
  // sort.Strings on Go strings is byte order, which is code-unit order on byte strings.
  for (const term of splitFieldTerms(selector).sort()) {
    if (term === '') continue;
    // The first position at which `!=`, `==` or `=` starts splits the term (no escaping on the left).
    const at = term.search(/!=|=/);
    if (at === -1) return null;
    const op = term.startsWith('!=', at) ? '!=' : term.startsWith('==', at) ? '==' : '=';
    const value = unescapeFieldValue(term.slice(at + op.length));
    if (value === null) return null;
    terms.push({ field: term.slice(0, at), equals: op !== '!=', value });
  }
  return terms;
}

/** Selector.RequiresExactMatch: the first `=`/`==` term on the field, in sorted order. */
export function fieldSelectorExactMatch(terms: readonly FieldTerm[], field: string): string | null {
  const term = terms.find((t) => t.field === field && t.equals);
  return term ? term.value : null;
}

// ---------------------------------------------------------------------------------------------
// Label selectors: apimachinery/pkg/labels/selector.go (Lexer, Parser, NewRequirement) and
// apimachinery/pkg/util/validation (IsQualifiedName, IsValidLabelValue). Only validity matters
// here: a selector kube rejects makes ListOptions decoding fail.

const enum Tok {
  Error,
  End,
  ClosePar,
  Comma,
  Not,
  DoubleEquals,
  Equals,
  Greater,
  Identifier,
  In,
  Less,
  NotEquals,
  NotIn,
  OpenPar,
}

const KEYWORDS: ReadonlyMap<string, Tok> = new Map([
  [')', Tok.ClosePar],
  [',', Tok.Comma],
  ['!', Tok.Not],
  ['==', Tok.DoubleEquals],
  ['=', Tok.Equals],
  ['>', Tok.Greater],
  ['in', Tok.In],
  ['<', Tok.Less],
  ['!=', Tok.NotEquals],
  ['notin', Tok.NotIn],
  ['(', Tok.OpenPar],
]);

const isLabelWhitespace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
const isLabelSpecial = (c: number) => c !== 0 && '=!(),><'.includes(String.fromCharCode(c));

/** The byte lexer, including Go's quirk that a NUL byte reads like the end of input. */
function lexLabelSelector(s: string): Array<[Tok, string]> {
  let pos = 0;
  const read = () => (pos < s.length ? s.charCodeAt(pos++) : 0);
  const items: Array<[Tok, string]> = [];
  for (;;) {
    let c = read();
    while (isLabelWhitespace(c)) c = read();
    if (c === 0) {
      items.push([Tok.End, '']);
      return items;
    }
    pos--;
    if (isLabelSpecial(c)) {
      let buffer = '';
      let last: [Tok, string] | null = null;
      for (;;) {
        const ch = read();
        if (ch === 0) break;
        if (!isLabelSpecial(ch)) {
          pos--;
          break;
        }
        buffer += String.fromCharCode(ch);
        const tok = KEYWORDS.get(buffer);
        if (tok !== undefined) last = [tok, buffer];
        else if (last) {
          pos--;
          break;
        }
      }
      items.push(last ?? [Tok.Error, buffer]);
    } else {
      let buffer = '';
      for (;;) {
        const ch = read();
        if (ch === 0) break;
        if (isLabelSpecial(ch) || isLabelWhitespace(ch)) {
          pos--;
          break;
        }
        buffer += String.fromCharCode(ch);
      }
      items.push([KEYWORDS.get(buffer) ?? Tok.Identifier, buffer]);
    }
  }
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix === '' || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return false;
  }
  return name !== '' && name.length <= 63 && QUALIFIED_NAME.test(name);
}

const isLabelValue = (v: string) => v.length <= 63 && LABEL_VALUE.test(v);

/** labels.Parse succeeds. */
export function isValidLabelSelector(selector: string): boolean {
  const items = lexLabelSelector(selector);
  let position = 0;
  // In the "values" context the keywords `in` and `notin` read as identifiers.
  const asValue = (t: Tok) => (t === Tok.In || t === Tok.NotIn ? Tok.Identifier : t);
  const peek = (values: boolean): [Tok, string] => {
    const [t, lit] = items[position]!;
    return [values ? asValue(t) : t, lit];
  };
  const take = (values: boolean): [Tok, string] => {
    const item = peek(values);
    position++;
    return item;
  };

  const requirement = (): boolean => {
    let [tok, key] = take(true);
    let notExists = false;
    if (tok === Tok.Not) {
      notExists = true;
      [tok, key] = take(true);
    }
    if (tok !== Tok.Identifier || !isQualifiedName(key)) return false;
    const [next] = peek(true);
    if (notExists || next === Tok.End || next === Tok.Comma) return true;
    const [op] = take(false);
    let values: string[];
    if (op === Tok.In || op === Tok.NotIn) {
      if (take(true)[0] !== Tok.OpenPar) return false;
      const [first] = peek(true);
      if (first === Tok.ClosePar) {
        take(true);
        values = [''];
      } else if (first === Tok.Identifier || first === Tok.Comma) {
        values = [];
        for (;;) {
          const [t, lit] = take(true);
          if (t === Tok.Identifier) {
            values.push(lit);
            const [t2] = peek(true);
            if (t2 === Tok.Comma) continue;
            if (t2 === Tok.ClosePar) break;
            return false;
          }
          if (t !== Tok.Comma) return false;
          if (values.length === 0) values.push('');
          const [t2] = peek(true);
          if (t2 === Tok.ClosePar) {
            values.push('');
            break;
          }
          if (t2 === Tok.Comma) {
            take(true);
            values.push('');
          }
        }
        if (take(true)[0] !== Tok.ClosePar) return false;
      } else return false;
    } else if (op === Tok.Equals || op === Tok.DoubleEquals || op === Tok.NotEquals || op === Tok.Greater || op === Tok.Less) {
      const [t] = peek(true);
      if (t === Tok.End || t === Tok.Comma) values = [''];
      else {
        const [t2, lit] = take(true);
        if (t2 !== Tok.Identifier) return false;
        values = [lit];
      }
      if ((op === Tok.Greater || op === Tok.Less) && !isGoInt64(values[0]!)) return false;
    } else return false;
    return values.every(isLabelValue);
  };

  for (;;) {
    const [tok] = peek(true);
    if (tok === Tok.End) return true;
    if (tok !== Tok.Identifier && tok !== Tok.Not) return false;
    if (!requirement()) return false;
    const [after] = take(true);
    if (after === Tok.End) return true;
    if (after !== Tok.Comma) return false;
    const [next] = peek(true);
    if (next !== Tok.Identifier && next !== Tok.Not) return false;
  }
}

// ---------------------------------------------------------------------------------------------

export type ListOptionsDecoding =
  | { readonly ok: true; readonly watch: boolean; readonly fieldSelector: readonly FieldTerm[] | null }
  | { readonly ok: false };

/**
 * metainternalversionscheme.ParameterCodec.DecodeParameters(query, meta/v1, &ListOptions{}):
 * whether it succeeds, and if so the watch flag and the parsed field selector.
 */
export function decodeListOptions(query: GoQuery): ListOptionsDecoding {
  if (query.size === 0) return { ok: true, watch: false, fieldSelector: null };
  const first = (key: string) => query.get(key)?.[0];
  for (const key of ['limit', 'timeoutSeconds']) {
    const v = first(key);
    if (v !== undefined && !isGoInt64(v)) return { ok: false };
  }
  const fieldSelector = parseFieldSelector(first('fieldSelector') ?? '');
  if (fieldSelector === null) return { ok: false };
  if (!isValidLabelSelector(first('labelSelector') ?? '')) return { ok: false };
  const watch = first('watch');
  return { ok: true, watch: watch !== undefined && goQueryBool(watch), fieldSelector };
}
