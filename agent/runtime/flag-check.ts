/**
 * The agent's own small use of ajv: its flag values are checked against a JSON Schema, the way
 * kubegate checks every input, without importing anything of the control plane's (the agent
 * runs in other people's clusters and shares only its protocol). A schema says its messages
 * next to its rules: `problems` maps a failing keyword to the message, with {text} standing
 * for the bad value; a missing flag is explained by its own schema's `problems.required`.
 */
import Ajv, { type AnySchemaObject, type ErrorObject, type SchemaObject } from 'ajv';

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
ajv.addVocabulary(['problems']);

/**
 * Compiles `schema` (an object whose properties are the flags) once; the returned function
 * gives the first problem in the order the schema lists the flags, or undefined.
 */
export function flagCheck(schema: SchemaObject): (values: Record<string, unknown>) => string | undefined {
  const validate = ajv.compile(schema);
  const order = Object.keys((schema.properties as object | undefined) ?? {});
  return (values) => {
    if (validate(values)) return undefined;
    const problems = (validate.errors ?? []).map((error) => ({ flag: flagOf(error), message: messageOf(error) }));
    problems.sort((a, b) => order.indexOf(a.flag) - order.indexOf(b.flag));
    return problems[0]?.message;
  };
}

/** The flag an error is about: the top-level property its path starts with, or the missing one. */
function flagOf(error: ErrorObject): string {
  if (error.keyword === 'required') return String(error.params.missingProperty);
  if (error.keyword === 'additionalProperties') return String(error.params.additionalProperty);
  return error.instancePath.split('/')[1] ?? '';
}

function messageOf(error: ErrorObject): string {
  const schema = (error.parentSchema ?? {}) as AnySchemaObject;
  if (error.keyword === 'required') {
    const flag = String(error.params.missingProperty);
    return (schema.properties?.[flag]?.problems?.required as string | undefined) ?? `--${flag} is required`;
  }
  if (error.keyword === 'additionalProperties') return `unknown argument "--${String(error.params.additionalProperty)}" (see --help)`;
  const template = schema.problems?.[error.keyword] as string | undefined;
  if (template === undefined) return `--${flagOf(error)} ${error.message ?? 'is not valid'}`;
  return template.replace(/\{text\}/g, String(error.data));
}
