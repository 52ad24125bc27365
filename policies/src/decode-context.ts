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

/** Collects the errors of one document while it is decoded. */
export class DecodeContext {
  readonly errors: PolicyError[] = [];
  constructor(readonly source: YamlDocumentSource) {}

  report(ErrorClass: PolicyErrorClass, node: Node | null | undefined, path: Path, message: string): void {
    const { line, column } = this.source.positionOf(node);
    this.errors.push(new ErrorClass({ file: this.source.file, line, column, path: formatPath(path) }, message));
  }

  resolve(node: Node | null | undefined): Node | null {
    return this.source.resolve(node);
  }
}
