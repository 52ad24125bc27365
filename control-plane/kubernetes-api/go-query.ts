/**
 * Go's reading of a query string, reproduced byte for byte: url.ParseQuery (net/url), and the
 * string conversions apimachinery applies to its values (strconv.ParseInt, the lenient boolean
 * of runtime/conversion.go and requestinfo.go's fallback). Values are "byte strings" (see
 * list-options.ts). Its own file because the list options, the field selector and the label
 * selector all build on it.
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
