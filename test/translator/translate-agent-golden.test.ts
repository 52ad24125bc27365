/**
 * Golden tests for the in-cluster Envoy's translator: control-plane/in-cluster-translator/testdata
 * <case>.in.yaml → <case>.out.yaml (KUBEGATE_UPDATE_GOLDEN=1 regenerates).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { translateAgent } from '../../control-plane/in-cluster-translator/translate-agent';
import type { AgentTranslatorInput } from '../../control-plane/in-cluster-translator/input';
import { TranslatorInputError } from '../../control-plane/translator/validate-input';
import { validateResources } from '../../control-plane/xds/resource-encoding';
import { Snapshot } from '../../control-plane/xds/snapshot';

const TESTDATA = path.join(__dirname, '../../control-plane/in-cluster-translator/testdata');
const UPDATE = process.env.KUBEGATE_UPDATE_GOLDEN === '1';
const cases = fs.readdirSync(TESTDATA).filter((f) => f.endsWith('.in.yaml')).map((f) => f.replace(/\.in\.yaml$/, ''));
const read = (name: string) => parse(fs.readFileSync(path.join(TESTDATA, `${name}.in.yaml`), 'utf8')) as AgentTranslatorInput;

test.each(cases)('%s matches its golden file, is valid for Envoy and consistent', (name) => {
  const output = translateAgent(read(name));
  const rendered = stringify(output, { lineWidth: 0, aliasDuplicateObjects: false });
  const goldenFile = path.join(TESTDATA, `${name}.out.yaml`);
  if (UPDATE) fs.writeFileSync(goldenFile, rendered);
  expect(rendered).toEqual(fs.readFileSync(goldenFile, 'utf8'));
  expect(() => validateResources(output)).not.toThrow();
  expect(() => new Snapshot(output).consistencyCheck()).not.toThrow();
});

describe('refuses input it cannot make safe', () => {
  const base = read('agent');
  test.each([
    ['a node id that would break the rc:// address', { nodeId: 'a:b@c' }, /node id "a:b@c" may use only/],
    ['a cluster name that is not a DNS label', { cluster: 'Prod_A' }, /cluster name "Prod_A" must be a DNS label/],
    ['an edge port out of range', { edgeTunnels: [{ host: 'e', port: 0 }] }, /edgeTunnels\[0\]\.port 0 is not a TCP port/],
    ['no edge tunnel listener', { edgeTunnels: [] }, /edgeTunnels names no edge tunnel listener/],
    ['an apiserver CA that is not PEM', { apiserver: { ...base.apiserver, caPem: 'x' } }, /apiserver CA is not a PEM certificate/],
    ['an edge CA that is not PEM', { edgeCaPem: 'x' }, /edgeCaPem is not a PEM certificate/],
    ['a relative secrets directory', { secretsDirectory: 'secrets' }, /must be an absolute path/],
    ['a JWKS without keys', { assertionJwks: '{"keys":[]}' }, /assertionJwks must be a JWKS with at least one key/],
    ['a JWKS that is not JSON', { assertionJwks: 'nope' }, /assertionJwks must be a JWKS/],
    ['an access-log flush interval under a second', { accessLogFlushIntervalSeconds: 0.5 }, /accessLogFlushIntervalSeconds 0.5 must be a whole number of seconds/],
  ])('%s', (_what, patch, message) => {
    const input = { ...base, ...patch } as AgentTranslatorInput;
    expect(() => translateAgent(input)).toThrow(TranslatorInputError);
    expect(() => translateAgent(input)).toThrow(message);
  });
});
