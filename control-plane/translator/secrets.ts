import { isIP } from 'node:net';
import { directClusters, type DirectCluster, type TranslatorInput } from './input';
import { AGENT_CA_SECRET, EDGE_SERVING_SECRET, EDGE_TUNNEL_IDENTITY_SECRET, USER_CA_SECRET, upstreamCaSecret, upstreamIdentitySecret } from './names';

/** SDS secrets: the edge's serving certificate, the user CA, and per cluster its CA and our identity. */
export function translateSecrets(input: TranslatorInput): object[] {
  const secrets: object[] = [
    tlsCertificate(EDGE_SERVING_SECRET, input.certificates.serving),
    { name: USER_CA_SECRET, validation_context: { trusted_ca: { inline_string: input.certificates.userCaPem } } },
  ];
  for (const cluster of directClusters(input.clusters)) {
    secrets.push(tlsCertificate(upstreamIdentitySecret(cluster.name), cluster.proxyIdentity));
    secrets.push(upstreamValidation(cluster));
  }
  if (input.tunnels) {
    secrets.push(tlsCertificate(EDGE_TUNNEL_IDENTITY_SECRET, input.tunnels.identity));
    secrets.push({ name: AGENT_CA_SECRET, validation_context: { trusted_ca: { inline_string: input.tunnels.agentCaPem } } });
  }
  return secrets;
}

function tlsCertificate(name: string, pair: { certPem: string; keyPem: string }): object {
  return {
    name,
    tls_certificate: {
      certificate_chain: { inline_string: pair.certPem },
      private_key: { inline_string: pair.keyPem },
    },
  };
}

/**
 * The apiserver's certificate must chain to the cluster's CA *and* name the host we dialled:
 * a CA alone would accept any certificate that CA ever signed (a kubelet's, say).
 */
function upstreamValidation(cluster: DirectCluster): object {
  const serverName = cluster.apiserver.serverName ?? cluster.apiserver.host;
  return {
    name: upstreamCaSecret(cluster.name),
    validation_context: {
      trusted_ca: { inline_string: cluster.apiserver.caPem },
      match_typed_subject_alt_names: [
        { san_type: isIP(serverName) ? 'IP_ADDRESS' : 'DNS', matcher: { exact: serverName } },
      ],
    },
  };
}
