/**
 * Identity assertions: the edge's signed statement, per request, of which Kubernetes user the
 * in-cluster Envoy must impersonate in which cluster. A JWT (ES256) the in-cluster Envoy's
 * jwt_authn filter verifies with the public key it received over xDS, so a tunnel alone (or
 * anything that can write to it) cannot make the in-cluster Envoy impersonate anyone.
 *
 * The JWS encoding, the JWK export and the RFC 7638 key id come from `jose`, a well-kept,
 * spec-conformant implementation, rather than our own base64url and signature-format code.
 * jose is pinned to v5: its Node build ships CommonJS, which this project and jest load as is
 * (v6 is ESM only).
 */
import * as crypto from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK } from 'jose';
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

/** The one algorithm the in-cluster Envoys accept (their JWKS names it). */
const ALG = 'ES256';

export class AssertionSigner {
  private constructor(
    private readonly key: crypto.KeyObject,
    /** RFC 7638 thumbprint of the public key: a stable key id derived from the key itself. */
    readonly keyId: string,
    private readonly jwksText: string,
  ) {}

  /** A signer for an EC P-256 private key (PEM, PKCS#8 or SEC1). */
  static async fromPem(privateKeyPem: string): Promise<AssertionSigner> {
    const key = crypto.createPrivateKey(privateKeyPem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('the assertion signing key must be an EC P-256 private key');
    }
    const publicJwk = await exportJWK(crypto.createPublicKey(key));
    const keyId = await calculateJwkThumbprint(publicJwk, 'sha256');
    const jwks = JSON.stringify({ keys: [{ ...publicJwk, kid: keyId, alg: ALG, use: 'sig' }] });
    return new AssertionSigner(key, keyId, jwks);
  }

  /** The JWKS the in-cluster Envoys verify with. */
  jwks(): string {
    return this.jwksText;
  }

  /** Signs an assertion valid from `nowMs` for ASSERTION_LIFETIME_SECONDS. */
  sign(claims: AssertionClaims, nowMs: number): Promise<string> {
    const iat = Math.floor(nowMs / 1000);
    // The claims in one object, in the order tokens have always had, so the signed bytes stay
    // the same as before jose made them.
    return new SignJWT({
      iss: ASSERTION_ISSUER,
      aud: claims.cluster,
      sub: claims.user,
      [ASSERTION_IMPERSONATE_CLAIM]: claims.impersonate,
      jti: claims.requestId,
      iat,
      exp: iat + ASSERTION_LIFETIME_SECONDS,
    })
      .setProtectedHeader({ alg: ALG, typ: 'JWT', kid: this.keyId })
      .sign(this.key);
  }
}
