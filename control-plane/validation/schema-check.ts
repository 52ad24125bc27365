/**
 * The one way the control plane checks input against a JSON Schema: ajv, with every error
 * reported (allErrors), each said in the project's words instead of ajv's. A schema carries its
 * own wording next to the rule it explains:
 *
 *   { type: 'integer', minimum: 1, problems: { type: 'must be a count, got {got}', minimum: ... }, errorCode: 'ERR_...' }
 *
 * `problems` maps a keyword that can fail to the message to give; `errorCode` is the stable code
 * of a problem found by that schema (one code, or one per keyword). A missing property is explained by the property's own
 * schema (`problems.required`, else its `problems.type`). Placeholders: {got} the value as JSON,
 * {text} the value as text, {allowed} an enum's values or an object's known fields, {field} the
 * dotted path of the value. Callers turn the issues into their own error classes.
 *
 * A folder of its own that imports nothing of kubegate's, so every input checker (the store's,
 * the audit export's, the controller's config, the CLI's flags, the API's errors) can use it
 * without folders importing each other in a circle. The agent, which never imports the control
 * plane, has its own small use of ajv (agent/runtime/flag-check.ts).
 */
import Ajv, { type AnySchemaObject, type ErrorObject, type SchemaObject } from 'ajv';

export type ValuePath = readonly (string | number)[];

/** One thing wrong with the checked value, in the schema's words. */
export interface SchemaIssue {
  /** Where: ['clusters', 0, 'name']. A missing or unknown property's path ends with its name. */
  readonly path: ValuePath;
  /** For a bad property name (propertyNames), the name; `path` is then the object's. */
  readonly propertyName?: string;
  /** The ajv keyword that failed (type, minimum, required, ...). */
  readonly keyword: string;
  /** The value at `path` (undefined when missing), or the bad property name. */
  readonly value: unknown;
  /** The schema's wording with its placeholders filled in; ajv's own when the schema has none. */
  readonly message: string;
  /** The errorCode of the schema that found it, if it has one. */
  readonly code?: string;
}

/** Checks a value; the issues come in the order of the root schema's properties, unknown ones last. */
export type SchemaCheck = (value: unknown) => SchemaIssue[];

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
// Annotations only: ajv ignores them, issueOf reads them back from the failing schema.
ajv.addVocabulary(['problems', 'errorCode']);

/** Compiles `schema` once; the returned function runs it and explains what failed. */
export function schemaCheck(schema: SchemaObject): SchemaCheck {
  const validate = ajv.compile(schema);
  const order = Object.keys((schema.properties as object | undefined) ?? {});
  // The value itself first, then its properties as the schema lists them, then unknown ones.
  const rank = (issue: SchemaIssue) => {
    if (issue.path.length === 0) return -1;
    const at = order.indexOf(String(issue.path[0]));
    return at === -1 ? order.length : at;
  };
  return (value) => {
    if (validate(value)) return [];
    const issues = (validate.errors ?? []).filter(reported).map((error) => issueOf(error, value));
    // One problem per value, as a person would say it: a port of 0.5 is not a whole number
    // and also below 1, but only the first is worth telling.
    const seen = new Set<string>();
    const unique = issues.filter((issue) => {
      const key = JSON.stringify([issue.path, issue.propertyName ?? null]);
      return seen.has(key) ? false : (seen.add(key), true);
    });
    return unique.map((issue, i) => ({ issue, i })).sort((a, b) => rank(a.issue) - rank(b.issue) || a.i - b.i).map(({ issue }) => issue);
  };
}

/** `clusters[0].apiserver.caFile`; the empty string for the value itself. */
export function dottedPath(path: ValuePath): string {
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join('');
}

/**
 * `if` only says which branch applied, `propertyNames` only that a name failed: the branch's
 * and the name's own errors say what is wrong.
 */
function reported(error: ErrorObject): boolean {
  return error.keyword !== 'if' && error.keyword !== 'propertyNames';
}

function issueOf(error: ErrorObject, root: unknown): SchemaIssue {
  const at = instancePath(error.instancePath, root);
  const schema = (error.parentSchema ?? {}) as AnySchemaObject;
  if (error.keyword === 'required') {
    const name = String(error.params.missingProperty);
    const own = (schema.properties?.[name] ?? {}) as AnySchemaObject;
    const template = own.problems?.required ?? own.problems?.type;
    return issue([...at, name], error, undefined, template, codeOf(own, 'required') ?? codeOf(schema, 'required'), '');
  }
  if (error.keyword === 'additionalProperties') {
    const name = String(error.params.additionalProperty);
    return issue([...at, name], error, (error.data as Record<string, unknown>)[name], schema.problems?.additionalProperties, codeOf(schema, error.keyword), Object.keys(schema.properties ?? {}).join(', '));
  }
  const allowed = error.keyword === 'enum' ? (error.params.allowedValues as unknown[]).join(', ') : '';
  if (error.propertyName !== undefined) {
    return { ...issue(at, error, error.propertyName, schema.problems?.[error.keyword], codeOf(schema, error.keyword), allowed), propertyName: error.propertyName };
  }
  return issue(at, error, error.data, schema.problems?.[error.keyword], codeOf(schema, error.keyword), allowed);
}

/** A schema's errorCode for a failing keyword: its only code, or the one given for that keyword. */
function codeOf(schema: AnySchemaObject, keyword: string): string | undefined {
  const code: unknown = schema.errorCode;
  if (typeof code === 'string') return code;
  return typeof code === 'object' && code !== null ? (code as Record<string, string | undefined>)[keyword] : undefined;
}

function issue(path: ValuePath, error: ErrorObject, value: unknown, template: string | undefined, code: string | undefined, allowed: string): SchemaIssue {
  const fill: Record<string, () => string> = {
    got: () => JSON.stringify(value) ?? 'undefined',
    text: () => String(value),
    allowed: () => allowed,
    field: () => dottedPath(path),
  };
  const message = template === undefined ? (error.message ?? error.keyword) : template.replace(/\{(got|text|allowed|field)\}/g, (_, name: string) => fill[name]!());
  return { path, keyword: error.keyword, value, message, ...(code !== undefined ? { code } : {}) };
}

/** The JSON pointer's segments, walked in the checked value so that array indexes are numbers. */
function instancePath(pointer: string, root: unknown): (string | number)[] {
  if (pointer === '') return [];
  const path: (string | number)[] = [];
  let node = root;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const step = Array.isArray(node) ? Number(segment) : segment;
    path.push(step);
    node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[step] : undefined;
  }
  return path;
}
