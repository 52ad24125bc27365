import { parse } from 'yaml';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { translate } from '../../control-plane/translator/translate';
import { TranslatorInputError } from '../../control-plane/translator/validate-input';
import type { DirectCluster, TranslatorInput } from '../../control-plane/translator/input';

const base = parse(fs.readFileSync(path.join(__dirname, '../../control-plane/translator/testdata/one-cluster.in.yaml'), 'utf8')) as TranslatorInput;
const direct = base.clusters[0] as DirectCluster;
const withCluster = (patch: object): TranslatorInput => ({ ...base, clusters: [{ ...base.clusters[0]!, ...patch } as TranslatorInput['clusters'][number]] });

describe('translator input validation', () => {
  test.each([
    ['a cluster name that is not a DNS label', withCluster({ name: 'Prod_EU' }), /cluster name "Prod_EU" must be a DNS label/],
    ['a cluster registered twice', { ...base, clusters: [base.clusters[0]!, base.clusters[0]!] }, /cluster "dev" is registered twice/],
    ['an apiserver port out of range', withCluster({ apiserver: { ...direct.apiserver, port: 70000 } }), /apiserver port 70000 is not a TCP port/],
    ['an apiserver CA that is not PEM', withCluster({ apiserver: { ...direct.apiserver, caPem: 'oops' } }), /apiserver CA is not a PEM certificate/],
    ['a listen port of 0', { ...base, edge: { ...base.edge, listenPort: 0 } }, /edge.listenPort 0 is not a TCP port/],
    ['an empty node id', { ...base, edge: { ...base.edge, nodeId: '' } }, /edge.nodeId is empty/],
    ['a tunnel cluster without a tunnel listener', { ...base, clusters: [{ name: 'behind-fw', connection: 'tunnel' }] }, /cluster "behind-fw" is reached over tunnels, but the edge has no tunnel listener/],
    [
      'a tunnel listener on the users\' port',
      { ...base, tunnels: { listenAddress: '127.0.0.1', listenPort: base.edge.listenPort, agentCaPem: direct.apiserver.caPem, identity: { certPem: 'c', keyPem: 'k' } } },
      /tunnels.listenPort \d+ is the users' port too/,
    ],
    [
      'an agent CA that is not PEM',
      { ...base, tunnels: { listenAddress: '127.0.0.1', listenPort: 9, agentCaPem: 'nope', identity: { certPem: 'c', keyPem: 'k' } } },
      /tunnels.agentCaPem is not a PEM certificate/,
    ],
    ['no ext_authz cluster', { ...base, edge: { ...base.edge, authzCluster: '' } }, /edge.authzCluster is empty/],
    ['users without the time that decides whose certificates are live', { ...base, users: [{ name: 'ann', revision: '0', certificateNotAfter: 5 }] }, /now is required with users/],
    ['a user listed twice', { ...base, now: 1, users: [{ name: 'ann', revision: '0' }, { name: 'ann', revision: '1' }] }, /user "ann" is listed twice/],
    ['a certificate expiry that is not a time', { ...base, now: 1, users: [{ name: 'ann', revision: '0', certificateNotAfter: Number.NaN }] }, /user "ann": certificateNotAfter NaN is not a time/],
  ])('rejects %s', (_what, input, message) => {
    expect(() => translate(input as TranslatorInput)).toThrow(TranslatorInputError);
    expect(() => translate(input as TranslatorInput)).toThrow(message);
  });
});
