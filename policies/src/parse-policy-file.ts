/**
 * Reading a policy file: YAML (strict 1.2, no aliases or tags), then, per document, ajv over
 * the generated schema with its errors said in policy terms, then the decoders' conversion
 * and the checks a schema cannot express. Every error of every document is reported.
 */
import { isScalar, LineCounter, parseAllDocuments, visit, type Document, type Node } from 'yaml';
import { DecodeContext, YamlDocumentSource } from './decode-context';
import { convertAt } from './decoder';
import { rememberSource } from './document-sources';
import type { PolicyDocument } from './policy-document';
import { policyDocument, type WithoutSource } from './policy-document-decoder';
import { PolicyYamlSyntaxError, type PolicyError } from './policy-errors';
import { PolicyValidationError } from './policy-validation-error';
import { reportSchemaErrors } from './schema-error-mapping';
import { policySchemaValidator } from './schema-validator';
import { yamlInstance } from './yaml-instance';

export interface PolicyFileResult {
  /** The documents that are valid on their own. */
  readonly documents: readonly PolicyDocument[];
  /** Everything wrong in the file, in order. */
  readonly errors: readonly PolicyError[];
}

/**
 * Reads every document of a policy file and reports every problem, without throwing: for tools
 * that gather the errors of many files (the CLI, the directory watcher).
 */
export function checkPolicyFile(text: string, fileName: string): PolicyFileResult {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, version: '1.2', uniqueKeys: true });
  const documents: PolicyDocument[] = [];
  const errors: PolicyError[] = [];

  for (const doc of parsed as Document[]) {
    const source = new YamlDocumentSource(fileName, lineCounter, doc);
    const syntax = syntaxErrors(doc, text, source);
    if (syntax.length > 0) {
      errors.push(...syntax);
      continue;
    }
    if (isEmpty(doc)) continue;
    const { decoded, errors: documentErrors } = decodeDocument(source);
    errors.push(...documentErrors);
    if (decoded) {
      const { line, column } = source.positionOf(source.root);
      const document = { ...decoded, source: { file: fileName, line, column } } as PolicyDocument;
      rememberSource(document, source);
      documents.push(document);
    }
  }
  return { documents, errors };
}

/**
 * The documents of one policy file (several may be separated by `---`).
 * @throws PolicyValidationError with every error of the file; nothing is returned then, so a
 *         file is used whole or not at all.
 */
export function parsePolicyFile(text: string, fileName: string): PolicyDocument[] {
  const { documents, errors } = checkPolicyFile(text, fileName);
  if (errors.length > 0) throw new PolicyValidationError(errors);
  return [...documents];
}

/**
 * One document: what ajv refuses first, then what the decoders find, in the order of the file
 * (on the same spot, the schema's error first).
 */
function decodeDocument(source: YamlDocumentSource): { decoded: WithoutSource<PolicyDocument> | undefined; errors: PolicyError[] } {
  const ctx = new DecodeContext(source);
  const instance = yamlInstance(source.root, ctx);
  const validator = policySchemaValidator();
  if (!validator.validate(instance)) reportSchemaErrors(validator.validate.errors ?? [], instance, ctx, validator);
  const decoded = convertAt(policyDocument, instance, [], ctx);
  const errors = [...ctx.errors].sort((a, b) => a.line - b.line || a.column - b.column);
  return { decoded, errors };
}

/** A document with nothing in it (`---` followed by `---`, or only comments) is skipped. */
function isEmpty(doc: Document): boolean {
  const contents = doc.contents as Node | null;
  return contents === null || (isScalar(contents) && contents.value === null);
}

function syntaxErrors(doc: Document, text: string, source: YamlDocumentSource): PolicyError[] {
  const out: PolicyError[] = [];
  const at = (offset: number) => ({ file: source.file, ...source.positionOfOffset(offset), path: '' });
  for (const e of [...doc.errors, ...doc.warnings]) {
    let message = e.message.charAt(0).toLowerCase() + e.message.slice(1);
    if (e.code === 'DUPLICATE_KEY') {
      const key = /^[^\n:]*/.exec(text.slice(e.pos[0]))?.[0]?.trim() ?? '';
      message = `duplicate key ${JSON.stringify(key)}: a key may appear once per mapping; remove or merge one of them`;
    } else if (e.code === 'TAG_RESOLVE_FAILED') {
      message = `YAML tag ${text.slice(e.pos[0], e.pos[1])} is not allowed in policy files: remove it`;
    }
    out.push(new PolicyYamlSyntaxError(at(e.pos[0]), message));
  }
  visit(doc, {
    Alias(_key, node) {
      out.push(
        new PolicyYamlSyntaxError(
          at(node.range?.[0] ?? 0),
          `alias *${node.source} is not allowed in policy files: write the value out in full, so that what reviewers read is what applies`,
        ),
      );
    },
  });
  return out;
}
