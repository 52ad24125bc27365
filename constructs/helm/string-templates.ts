/**
 * One scalar of the construct's output as a template: literal if no sentinel is in it, else
 * an expression that prints its literal parts around the props' expressions. Inside a string
 * that is itself JSON (an Envoy bootstrap in a ConfigMap) a prop's text is JSON-escaped, and a
 * string that is base64 of text holding a sentinel (Secret `data`) is rebuilt and `b64enc`ed.
 */
import type { Fragment } from './prop-plans';
import type { Scalar } from './template-tree';

const goString = (s: string) => JSON.stringify(s);

export function scalarNode(value: string | number | boolean | null, fragments: readonly Fragment[], jsonText?: boolean): Scalar {
  if (typeof value === 'number') {
    const f = fragments.find((x) => x.number === value);
    return f ? { t: 'expr', e: `${f.expr} | int`, type: 'number' } : { t: 'lit', v: value };
  }
  if (typeof value !== 'string') return { t: 'lit', v: value };
  const direct = stringExpr(value, fragments, jsonText);
  if (direct !== undefined) return { t: 'expr', e: direct, type: 'string' };
  const decoded = base64Text(value);
  if (decoded !== undefined) {
    const inner = stringExpr(decoded, fragments);
    if (inner !== undefined) return { t: 'expr', e: `(${inner}) | b64enc`, type: 'string' };
  }
  if (value.includes('{{') || value.includes('}}')) return { t: 'expr', e: goString(value), type: 'string' };
  return { t: 'lit', v: value };
}

/** The expression printing `s` with each fragment's text replaced by its expression; undefined if none occurs. */
/** `jsonText`: the string is part of a JSON document (a line of one); by default, whether it is one. */
export function stringExpr(s: string, fragments: readonly Fragment[], jsonText?: boolean): string | undefined {
  const json = jsonText ?? isJsonDocument(s);
  const texts = fragments.filter((f) => f.text !== undefined).sort((a, b) => b.text!.length - a.text!.length);
  const numbers = fragments.filter((f) => f.number !== undefined);
  const parts: string[] = [];
  let literal = '';
  let found = false;
  let i = 0;
  while (i < s.length) {
    const text = texts.find((f) => s.startsWith(f.text!, i));
    if (text) {
      if (literal) parts.push(goString(literal));
      literal = '';
      parts.push(json ? `(toJson ${text.expr} | trimPrefix "\\"" | trimSuffix "\\"")` : `(toString ${text.expr})`);
      found = true;
      i += text.text!.length;
      continue;
    }
    // A number starts a token (not inside a word such as a hex digest, nor a longer number,
    // version or address: no digit or `.digit` after it); a unit may follow it (1024Mi), or a
    // dot and a name (a StatefulSet pod's DNS name, pod-0.pods).
    const number = /\d/.test(s[i]!) && (i === 0 || !/[\w.]/.test(s[i - 1]!)) ? numbers.find((f) => new RegExp(`^${f.number}(?!\\d|\\.\\d)`).test(s.slice(i))) : undefined;
    if (number) {
      if (literal) parts.push(goString(literal));
      literal = '';
      parts.push(`(${number.expr} | int | toString)`);
      found = true;
      i += String(number.number).length;
      continue;
    }
    literal += s[i];
    i++;
  }
  if (!found) return undefined;
  if (literal) parts.push(goString(literal));
  // A string that is exactly one prop's text is that prop's value.
  const whole = texts.find((f) => f.text === s);
  if (whole && !json) return whole.expr;
  return `(print ${parts.join(' ')})`;
}

export function isJsonDocument(s: string): boolean {
  if (!/^\s*[[{]/.test(s)) return false;
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

function base64Text(s: string): string | undefined {
  if (s.length < 8 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return undefined;
  const text = Buffer.from(s, 'base64').toString('utf8');
  return Buffer.from(text, 'utf8').toString('base64') === s ? text : undefined;
}
