import type { AuthzRequest, Authorizer, Decision } from './decision';
import { CertificateIdentityReader } from './certificate-identity';
import { clusterFromPath } from './cluster-path';

/**
 * The walking skeleton's authorizer: any certificate the edge verified may reach any
 * registered cluster, as the identity the certificate names. The cluster's own RBAC then
 * applies to that identity through impersonation. The policy engine replaces this.
 */
export class CertificateAuthorizer implements Authorizer {
  private readonly identities = new CertificateIdentityReader();
  constructor(private readonly isRegistered: (cluster: string) => boolean) {}

  decide(request: AuthzRequest): Decision {
    const identity = this.identities.read(request.peerCertificatePem);
    if (!identity) {
      return { allowed: false, httpStatus: 401, message: 'kubegate: a client certificate naming a user is required', reason: 'no-identity' };
    }
    const cluster = clusterFromPath(request.path);
    if (!cluster || !this.isRegistered(cluster)) {
      return {
        allowed: false,
        httpStatus: 404,
        identity,
        message: `kubegate: no cluster ${cluster ? `"${cluster}"` : 'in the request path'}; use https://<edge>/clusters/<name>`,
        reason: 'unknown-cluster',
        ...(cluster ? { cluster } : {}),
      };
    }
    return { allowed: true, identity, cluster, reason: 'valid-certificate' };
  }
}
