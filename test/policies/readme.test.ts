import * as fs from 'node:fs';
import * as path from 'node:path';
import { parsePolicyFile, policyJsonSchema, POLICY_ERROR_CLASSES, PolicyValidationError } from '../../policies/src';

const README = fs.readFileSync(path.join(__dirname, '../../policies/README.md'), 'utf8');

/** Every property name anywhere in the schema. */
function propertyNames(node: unknown, out = new Set<string>()): Set<string> {
  if (typeof node !== 'object' || node === null) return out;
  if (Array.isArray(node)) {
    node.forEach((n) => propertyNames(n, out));
    return out;
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === 'examples') continue;
    if (k === 'properties') Object.keys(v as object).forEach((name) => out.add(name));
    propertyNames(v, out);
  }
  return out;
}

describe('policies/README.md', () => {
  test('documents every field of the schema', () => {
    const missing = [...propertyNames(policyJsonSchema())].filter((name) => !README.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  test('lists every error code with its class', () => {
    const missing = POLICY_ERROR_CLASSES.filter((c) => !README.includes(`| \`${c.code}\` | \`${c.name}\` |`)).map((c) => c.code);
    expect(missing).toEqual([]);
  });

  test('shows error output exactly as the validator prints it', () => {
    const shown = /```\n(policies\/contractors\.yaml:[^]*?)\n```/.exec(README)![1]!;
    const text = fs.readFileSync(path.join(__dirname, 'fixtures/many-errors.yaml'), 'utf8');
    let printed = '';
    try {
      parsePolicyFile(text, 'policies/contractors.yaml');
    } catch (e) {
      if (!(e instanceof PolicyValidationError)) throw e;
      printed = e.format();
    }
    expect(shown).toBe(printed);
  });

  test('every YAML snippet of kind documents parses', () => {
    const snippets = [...README.matchAll(/```yaml\n([^]*?)```/g)].map((m) => m[1]!).filter((s) => s.includes('apiVersion:'));
    expect(snippets.length).toBeGreaterThanOrEqual(4);
    snippets.forEach((s, i) => expect(() => parsePolicyFile(s, `README snippet ${i}`)).not.toThrow());
  });
});
