/**
 * Where things are in a policy document: paths as messages print them, the YAML nodes behind
 * a path (for file:line:column), and the context that collects one document's errors.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PolicyError, PolicyErrorClass } from './policy-errors';

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `spec.rules[1].verbs[0]`; keys that are not identifiers are quoted: `labels["kubegate.dev/env"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

/** Source positions of one parsed YAML document: the node at a path, and its line and column. */
export class YamlDocumentSource {
  constructor(
    readonly file: string,
    private readonly lineCounter: LineCounter,
    private readonly document: Document,
  ) {}

  positionOfOffset(offset: number): Position {
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, column: col };
  }

  /** Where a node starts; for a node the parser did not place, the start of the document. */
  positionOf(node: Node | null | undefined): Position {
    const offset = node?.range?.[0] ?? this.document.range?.[0] ?? 0;
    return this.positionOfOffset(offset);
  }

  /** The node an alias points to; other nodes unchanged. */
  resolve(node: Node | null | undefined): Node | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return (node.resolve(this.document) as Node | undefined) ?? null;
    return node;
  }

  get root(): Node | null {
    return this.resolve(this.document.contents as Node | null);
  }

  /**
   * The nodes along a path from the root: for each map step the key node and the value node.
   * Stops at the deepest node that exists, so a missing field is located at its parent.
   */
  locate(path: Path, from: Node | null = this.root): { key: Node | null; value: Node | null; found: boolean } {
    let value: Node | null = from;
    let key: Node | null = null;
    for (const segment of path) {
      const current = this.resolve(value);
      if (typeof segment === 'number' && isSeq(current)) {
        const item = current.items[segment] as Node | undefined;
        if (item === undefined) return { key, value: current, found: false };
        key = null;
        value = item;
      } else if (typeof segment === 'string' && isMap(current)) {
        const pair = current.items.find((p) => isScalar(p.key) && p.key.value === segment);
        if (!pair) return { key, value: current, found: false };
        key = pair.key as Node;
        value = (pair.value as Node | null) ?? null;
      } else {
        return { key, value: current, found: false };
      }
    }
    return { key, value, found: true };
  }
}

/** Keywords whose failure means the value itself is unusable (as opposed to a missing or extra field). */
const VALUE_KEYWORDS = new Set(['type', 'const', 'enum', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'minProperties', 'false schema', 'not']);

const pathKey = (path: Path): string => JSON.stringify(path);

function isWithin(path: Path, prefix: Path): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);
}

/**
 * Collects the errors of one document: first what ajv found (mapped to policy errors), then
 * what the converters check. Knows which values ajv refused, so converters skip them.
 */
export class DecodeContext {
  readonly errors: PolicyError[] = [];
  private readonly refusedPaths = new Set<string>();
  private readonly failedPaths: Path[] = [];

  constructor(readonly source: YamlDocumentSource) {}

  /** Reports an error at the value at `path` or, with anchor 'key', at its key. */
  report(ErrorClass: PolicyErrorClass, path: Path, message: string, anchor: 'value' | 'key' = 'value'): void {
    this.reportAtNode(ErrorClass, this.nodeFor(path, anchor), path, message);
  }

  /** Reports an error placed on a given node (one that no path leads to, such as a non-string key). */
  reportAtNode(ErrorClass: PolicyErrorClass, node: Node | null, path: Path, message: string): void {
    const { line, column } = this.source.positionOf(node);
    this.errors.push(new ErrorClass({ file: this.source.file, line, column, path: formatPath(path) }, message));
    this.failedPaths.push(path);
  }

  /** Records an error ajv found at `path`, whether or not it is reported in words. */
  schemaError(path: Path, keyword: string): void {
    if (VALUE_KEYWORDS.has(keyword)) this.refusedPaths.add(pathKey(path));
    this.failedPaths.push(path);
  }

  /** Whether ajv refused the value at `path` itself. */
  refused(path: Path): boolean {
    return this.refusedPaths.has(pathKey(path));
  }

  /** Whether anything at or below `path` is wrong. */
  failedAtOrBelow(path: Path): boolean {
    return this.failedPaths.some((failed) => isWithin(failed, path));
  }

  /**
   * The node an error is placed on. A value that is written is its own place; a missing or
   * empty value (`key:` alone) is placed on its key; a missing field on the key of the object
   * that lacks it (or on the object, in a list or at the top).
   */
  private nodeFor(path: Path, anchor: 'value' | 'key'): Node | null {
    const located = this.source.locate(path);
    if (!located.found) return located.key ?? located.value;
    if (anchor === 'key' && located.key) return located.key;
    const value = located.value;
    if (value?.range && value.range[0] < value.range[1]) return value;
    return located.key ?? value;
  }
}
