/**
 * The JSON value of a parsed YAML document, which is what ajv validates. YAML can say things
 * JSON cannot: a mapping key that is a number, a list or nothing. Those keys are reported here
 * (JSON Schema never sees them) and left out of the value.
 */
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { formatPath, type DecodeContext, type Path } from './decode-context';
import { describeNode } from './decoders';
import { PolicyBadTypeError } from './policy-errors';

export function yamlInstance(node: Node | null, ctx: DecodeContext, path: Path = []): unknown {
  const resolved = ctx.source.resolve(node);
  if (isMap(resolved)) {
    const out: Record<string, unknown> = {};
    for (const pair of resolved.items) {
      const key = ctx.source.resolve(pair.key as Node | null);
      if (!isScalar(key) || typeof key.value !== 'string') {
        const message = path.length
          ? `${formatPath(path)} must be a mapping with string keys, got ${describeNode(key)}`
          : `document keys must be strings, got ${describeNode(key)}`;
        ctx.reportAtNode(PolicyBadTypeError, key, path, message);
        continue;
      }
      // defineProperty, so that a key such as __proto__ is data like any other.
      Object.defineProperty(out, key.value, {
        value: yamlInstance((pair.value as Node | null) ?? null, ctx, [...path, key.value]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (isSeq(resolved)) return resolved.items.map((item, i) => yamlInstance(item as Node | null, ctx, [...path, i]));
  if (isScalar(resolved)) return resolved.value ?? null;
  return null;
}
