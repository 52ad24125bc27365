/**
 * Identity assertions: the edge's signed statement, per request, of which Kubernetes user the
 * in-cluster Envoy must impersonate in which cluster. A JWT (ES256) the in-cluster Envoy's
 * jwt_authn filter verifies with the public key it received over xDS, so a tunnel alone (or
 * anything that can write to it) cannot make the in-cluster Envoy impersonate anyone.
 */
import * as crypto from 'node:crypto';
import { ASSERTION_IMPERSONATE_CLAIM, ASSERTION_ISSUER, ASSERTION_LIFETIME_SECONDS } from '../../agent/protocol/identities';

export interface AssertionClaims {
  readonly cluster: string;
  /** The kubegate user the request is for (audit, and the cluster's logs via the token's sub). */
  readonly user: string;
  /** The Kubernetes user to impersonate: the user's ServiceAccount. */
  readonly impersonate: string;
  /** Request id, so an assertion names the one request it was minted for. */
  readonly requestId: string;
}

export class AssertionSigner {
  private readonly key: crypto.KeyObject;
  readonly keyId: string;
  private readonly publicJwk: crypto.JsonWebKey;

  constructor(privateKeyPem: string) {
    this.key = crypto.createPrivateKey(privateKeyPem);
    if (this.key.asymmetricKeyType !== 'ec' || this.key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('the assertion signing key must be an EC P-256 private key');
    }
    this.publicJwk = crypto.createPublicKey(this.key).export({ format: 'jwk' });
    // RFC 7638 thumbprint: a stable key id derived from the key itself.
    const canonical = JSON.stringify({ crv: this.publicJwk.crv, kty: this.publicJwk.kty, x: this.publicJwk.x, y: this.publicJwk.y });
    this.keyId = crypto.createHash('sha256').update(canonical).digest('base64url');
  }

  /** The JWKS the in-cluster Envoys verify with. */
  jwks(): string {
    return JSON.stringify({ keys: [{ ...this.publicJwk, kid: this.keyId, alg: 'ES256', use: 'sig' }] });
  }

  /** Signs an assertion valid from `nowMs` for ASSERTION_LIFETIME_SECONDS. */
  sign(claims: AssertionClaims, nowMs: number): string {
    const iat = Math.floor(nowMs / 1000);
    const header = { alg: 'ES256', typ: 'JWT', kid: this.keyId };
    const payload = {
      iss: ASSERTION_ISSUER,
      aud: claims.cluster,
      sub: claims.user,
      [ASSERTION_IMPERSONATE_CLAIM]: claims.impersonate,
      jti: claims.requestId,
      iat,
      exp: iat + ASSERTION_LIFETIME_SECONDS,
    };
    const signingInput = `${b64(header)}.${b64(payload)}`;
    // JWS wants the raw r||s signature, not DER.
    const signature = crypto.sign('sha256', Buffer.from(signingInput), { key: this.key, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${signature.toString('base64url')}`;
  }
}

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
