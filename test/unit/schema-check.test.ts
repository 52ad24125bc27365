/**
 * The one helper that runs ajv for kubegate's inputs: each error in the schema's own words and
 * code, named by where it is, one per value, in the order the schema lists its properties.
 */
import { dottedPath, schemaCheck } from '../../control-plane/validation/schema-check';

const check = schemaCheck({
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[a-z]+$', errorCode: 'ERR_NAME', problems: { required: 'is required', type: 'must be a name, got {got}', pattern: '"{text}" is not a name' } },
    size: { type: 'integer', minimum: 1, errorCode: { type: 'ERR_TYPE', minimum: 'ERR_SMALL' }, problems: { type: '{got} is not a whole number', minimum: '{field} must be at least 1, got {text}' } },
    labels: { type: 'object', propertyNames: { pattern: '^[a-z]+$', problems: { pattern: 'key "{text}" is not lowercase' } }, additionalProperties: { type: 'string' } },
    items: { type: 'array', items: { enum: ['a', 'b'], problems: { enum: '{got} is not one of {allowed}' } } },
  },
  required: ['name'],
  additionalProperties: false,
  errorCode: { additionalProperties: 'ERR_UNKNOWN' },
  problems: { type: 'must be an object', additionalProperties: 'unknown (known: {allowed})' },
});

test('a good value has no issues', () => {
  expect(check({ name: 'x', size: 2, labels: { a: 'b' }, items: ['a'] })).toEqual([]);
});

test('the value itself: its path is empty', () => {
  expect(check([1])).toEqual([{ path: [], keyword: 'type', value: [1], message: 'must be an object' }]);
});

test("a missing property is explained by the property's own schema, with its code", () => {
  expect(check({})).toEqual([{ path: ['name'], keyword: 'required', value: undefined, message: 'is required', code: 'ERR_NAME' }]);
});

test('placeholders, codes by keyword, unknown properties, array indexes and bad keys', () => {
  const issues = check({ zzz: 1, items: ['a', 'c'], labels: { Up: 'x' }, size: 0, name: 'A' });
  expect(issues.map((i) => [dottedPath(i.path), i.code, i.message])).toEqual([
    ['name', 'ERR_NAME', '"A" is not a name'],
    ['size', 'ERR_SMALL', 'size must be at least 1, got 0'],
    ['labels', undefined, 'key "Up" is not lowercase'],
    ['items[1]', undefined, '"c" is not one of a, b'],
    ['zzz', 'ERR_UNKNOWN', 'unknown (known: name, size, labels, items)'],
  ]);
  expect(issues[2]).toMatchObject({ propertyName: 'Up', value: 'Up' });
});

test('one issue per value: the first ajv finds', () => {
  expect(check({ name: 'x', size: 0.5 }).map((i) => [i.code, i.message])).toEqual([['ERR_TYPE', '0.5 is not a whole number']]);
});

test("a rule without wording gets ajv's own message", () => {
  expect(schemaCheck({ type: 'integer', maximum: 3 })(4)).toEqual([{ path: [], keyword: 'maximum', value: 4, message: 'must be <= 3' }]);
});

test('paths are dotted with array indexes, and digits naming a property stay a property', () => {
  expect(dottedPath(['clusters', 0, 'labels', 'app.kubernetes.io/name'])).toBe('clusters[0].labels.app.kubernetes.io/name');
  const numbered = schemaCheck({ type: 'object', additionalProperties: { type: 'string' } });
  expect(numbered({ '1': 2 })[0]!.path).toEqual(['1']);
});
