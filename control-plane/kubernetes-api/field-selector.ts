/**
 * Field selectors as kube-apiserver parses them: apimachinery/pkg/fields/selector.go
 * (parseSelector, splitTerms, splitTerm, UnescapeValue, RequiresExactMatch). A selector that
 * fails here fails the whole ListOptions decoding, and `metadata.name=X` names the object of a
 * list or watch, so the parse must match Go's exactly, down to its rune handling of bytes.
 */

export interface FieldTerm {
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
