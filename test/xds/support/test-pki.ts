/**
 * Certificates for the xDS tests: one internal CA that signs the server and a client, and an
 * unrelated CA with its own client, for the mTLS refusal tests. Made once per test file.
 */
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../../../control-plane/pki/certificates';

export interface TestPki {
  readonly ca: KeyPairPem;
  readonly server: KeyPairPem;
  readonly client: KeyPairPem;
  /** A client certificate from a CA the server does not trust. */
  readonly strangerClient: KeyPairPem;
}

export function createTestPki(): TestPki {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 3600_000);
  const ca = createCertificateAuthority({ commonName: 'kubegate-test-internal-ca', notBefore, notAfter });
  const stranger = createCertificateAuthority({ commonName: 'some-other-ca', notBefore, notAfter });
  return {
    ca,
    server: issueCertificate(ca, { commonName: 'control-plane', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server', notBefore, notAfter }),
    client: issueCertificate(ca, { commonName: 'envoy-edge', usage: 'client', notBefore, notAfter }),
    strangerClient: issueCertificate(stranger, { commonName: 'envoy-edge', usage: 'client', notBefore, notAfter }),
  };
}
