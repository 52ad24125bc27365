import type { Path, Position, YamlDocumentSource } from './decode-context';
import type { PolicyDocument } from './policy-document';

/**
 * The parsed YAML behind each document read from a file, kept beside (not inside) the typed
 * document so that cross-document checks can point at the exact line of a field.
 */
const sources = new WeakMap<PolicyDocument, YamlDocumentSource>();

export function rememberSource(document: PolicyDocument, source: YamlDocumentSource): void {
  sources.set(document, source);
}

/** The position of a field of a document; its start when the document was not read from YAML. */
export function positionOf(document: PolicyDocument, path: Path): Position {
  const source = sources.get(document);
  if (!source) return { line: document.source.line, column: document.source.column };
  const located = source.locate(path);
  return source.positionOf(located.found ? located.value : (located.key ?? located.value));
}
