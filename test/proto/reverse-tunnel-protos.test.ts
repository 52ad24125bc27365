/**
 * kubegate's copies of Envoy's reverse-tunnel protos must match the installed Envoy exactly:
 * a renamed or renumbered field would otherwise be encoded silently wrong and NACKed (or worse,
 * read as another field) in production.
 */
import * as fs from 'node:fs';
import { envoyProtos, REVERSE_TUNNEL_PROTO_FILES } from '../../control-plane/proto/envoy-protos';
import { loadToolchain } from '../../dev/toolchain/tools';
import { embeddedFileDescriptor, loadedSignature, messageSignatures, signatureProblems, type MessageSignatures } from './embedded-descriptors';

// Fields left out on purpose: jwt_validator needs envoy/extensions/filters/common/jwks, which
// kubegate does not use (tunnels are authenticated by mTLS and the certificate's SAN).
const OMITTED: Record<string, string[]> = { 'envoy.extensions.filters.network.reverse_tunnel.v3.ReverseTunnel': ['jwt_validator'] };
// One local file holds the messages of two upstream files.
const UPSTREAM_FILES: Record<string, string[]> = {
  'envoy/extensions/filters/network/reverse_tunnel/v3/reverse_tunnel.proto': [
    'envoy/extensions/filters/network/reverse_tunnel/v3/reverse_tunnel.proto',
    'envoy/extensions/filters/network/reverse_tunnel/v3/drain_aware_hcm.proto',
  ],
};

let binary: Buffer;
beforeAll(() => {
  binary = fs.readFileSync(fs.realpathSync(loadToolchain().envoy));
});

function upstreamMessages(file: string): MessageSignatures {
  const out: MessageSignatures = {};
  for (const name of UPSTREAM_FILES[file] ?? [file]) {
    const fdp = embeddedFileDescriptor(binary, name);
    if (!fdp) throw new Error(`${name} is not embedded in the Envoy binary: was the extension removed?`);
    Object.assign(out, messageSignatures(fdp));
  }
  return out;
}

describe.each(REVERSE_TUNNEL_PROTO_FILES)('%s', (file) => {
  it('has every message and field of the installed Envoy, with the same numbers and types', () => {
    const upstream = upstreamMessages(file);
    expect(Object.keys(upstream).length).toBeGreaterThan(0);
    const problems = Object.entries(upstream).flatMap(([message, fields]) =>
      signatureProblems(message, fields, loadedSignature(envoyProtos().root.lookupType(message)), OMITTED[message]),
    );
    expect(problems).toEqual([]);
  });
});

it('reports a renumbered, a missing and an extra field (the check can fail)', () => {
  const name = 'envoy.extensions.clusters.reverse_connection.v3.ReverseConnectionClusterConfig';
  const envoy = upstreamMessages('envoy/extensions/clusters/reverse_connection/v3/reverse_connection.proto')[name];
  const mine = loadedSignature(envoyProtos().root.lookupType(name));
  expect(signatureProblems(name, envoy, mine)).toEqual([]);
  const { cleanup_interval: _dropped, ...withoutCleanup } = mine;
  const tampered = { ...withoutCleanup, host_id_format: mine.host_id_format.replace(/^2\//, '7/'), invented: '9/9/1/' };
  expect(signatureProblems(name, envoy, tampered)).toEqual([
    `${name}.cleanup_interval: Envoy ${envoy.cleanup_interval}, kubegate missing`,
    `${name}.host_id_format: Envoy ${envoy.host_id_format}, kubegate ${tampered.host_id_format}`,
    `${name}.invented: not in Envoy`,
  ]);
});
