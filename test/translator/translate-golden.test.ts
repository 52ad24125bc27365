/**
 * Golden tests for the translator, the way Envoy Gateway tests its own: every
 * testdata/<case>.in.yaml is translated and compared with <case>.out.yaml. Regenerate after an
 * intended change with KUBEGATE_UPDATE_GOLDEN=1 and review the diff like code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { translate } from '../../control-plane/translator/translate';
import type { TranslatorInput } from '../../control-plane/translator/input';
import { validateResources } from '../../control-plane/xds/resource-encoding';
import { Snapshot } from '../../control-plane/xds/snapshot';

const TESTDATA = path.join(__dirname, '../../control-plane/translator/testdata');
const UPDATE = process.env.KUBEGATE_UPDATE_GOLDEN === '1';
const cases = fs.readdirSync(TESTDATA).filter((f) => f.endsWith('.in.yaml')).map((f) => f.replace(/\.in\.yaml$/, ''));

describe('translator golden files', () => {
  test('there are golden cases to check', () => {
    expect(cases.length).toBeGreaterThanOrEqual(3);
  });

  test.each(cases)('%s', (name) => {
    const input = parse(fs.readFileSync(path.join(TESTDATA, `${name}.in.yaml`), 'utf8')) as TranslatorInput;
    const output = translate(input);
    const rendered = stringify(output, { lineWidth: 0, aliasDuplicateObjects: false });
    const goldenFile = path.join(TESTDATA, `${name}.out.yaml`);
    if (UPDATE) fs.writeFileSync(goldenFile, rendered);
    expect(fs.existsSync(goldenFile)).toBe(true);
    expect(rendered).toEqual(fs.readFileSync(goldenFile, 'utf8'));
  });

  test.each(cases)('%s: every resource is valid against Envoy protos and the snapshot is consistent', (name) => {
    const input = parse(fs.readFileSync(path.join(TESTDATA, `${name}.in.yaml`), 'utf8')) as TranslatorInput;
    const output = translate(input);
    expect(() => validateResources(output)).not.toThrow();
    expect(() => new Snapshot(output).consistencyCheck()).not.toThrow();
  });

  test('translation is deterministic and independent of registration order', () => {
    const input = parse(fs.readFileSync(path.join(TESTDATA, 'two-clusters-dns-and-timeouts.in.yaml'), 'utf8')) as TranslatorInput;
    const reversed = { ...input, clusters: [...input.clusters].reverse() };
    expect(stringify(translate(reversed))).toEqual(stringify(translate(input)));
  });
});
