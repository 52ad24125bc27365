/**
 * The in-cluster Envoy's secrets as file-based SDS resources (one DiscoveryResponse-shaped JSON
 * file each). Written to a temporary name and renamed into place, because Envoy reacts to the
 * rename and a half-written file would be a rejected secret.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AGENT_SECRET_FILES } from '../protocol/identities';

const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

function writeSecret(dir: string, file: string, secret: object): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const target = path.join(dir, file);
  const temporary = path.join(dir, `.${file}.${process.pid}.tmp`);
  fs.writeFileSync(temporary, JSON.stringify({ resources: [{ '@type': SECRET_TYPE, ...secret }] }), { mode: 0o600 });
  fs.renameSync(temporary, target);
}

/** The agent's certificate and key, for the tunnels and the in-cluster Envoy's xDS. */
export function writeIdentitySecret(dir: string, certPem: string, keyPem: string): void {
  writeSecret(dir, AGENT_SECRET_FILES.identity.file, {
    name: AGENT_SECRET_FILES.identity.secret,
    tls_certificate: { certificate_chain: { inline_string: certPem }, private_key: { inline_string: keyPem } },
  });
}

/** The bearer token the in-cluster Envoy presents to kube-apiserver. */
export function writeApiserverCredential(dir: string, token: string): void {
  writeSecret(dir, AGENT_SECRET_FILES.apiserverCredential.file, {
    name: AGENT_SECRET_FILES.apiserverCredential.secret,
    generic_secret: { secret: { inline_string: `Bearer ${token}` } },
  });
}
