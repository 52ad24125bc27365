/**
 * Label selector validity as kube-apiserver judges it: apimachinery/pkg/labels/selector.go
 * (Lexer, Parser, NewRequirement) and apimachinery/pkg/util/validation (IsQualifiedName,
 * IsValidLabelValue). Only validity matters here: a selector kube rejects makes ListOptions
 * decoding fail, and then the request's name never comes from its field selector.
 */
import { isGoInt64 } from './go-query';

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
