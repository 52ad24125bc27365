/**
 * The per-request identity assertion is a contract with the in-cluster Envoy's jwt_authn
 * filter: ES256, a kid that is the key's RFC 7638 thumbprint, the claims the agent translator
 * configures it to check, and a JWKS it can load. These tests pin that contract so a change of
 * how tokens are made (hand-written, then `jose`) cannot change what Envoy receives. The
 * signature and the thumbprint are checked with node:crypto alone, not with the library that
 * made them.
 */
import * as crypto from 'node:crypto';
import { AssertionSigner } from '../../control-plane/agent-gateway/identity-assertion';
import { ASSERTION_IMPERSONATE_CLAIM, ASSERTION_ISSUER, ASSERTION_LIFETIME_SECONDS } from '../../agent/protocol/identities';

function p256Pem(format: 'pkcs8' | 'sec1' = 'pkcs8'): { pem: string; publicKey: crypto.KeyObject } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { pem: privateKey.export({ type: format, format: 'pem' }).toString(), publicKey };
}

function decodePart(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

const claims = { cluster: 'prod-a', user: 'rita', impersonate: 'system:serviceaccount:kubegate-users:u-rita', requestId: 'req-1' };

test('the kid is the RFC 7638 thumbprint of the public key, and the JWKS holds that one key for ES256 signatures', async () => {
  const { pem, publicKey } = p256Pem();
  const signer = await AssertionSigner.fromPem(pem);
  const jwk = publicKey.export({ format: 'jwk' });
  // RFC 7638 §3.2: the required members of an EC key, in lexicographic order, no whitespace.
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  expect(signer.keyId).toBe(crypto.createHash('sha256').update(canonical).digest('base64url'));
  expect(JSON.parse(signer.jwks())).toEqual({ keys: [{ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid: signer.keyId, alg: 'ES256', use: 'sig' }] });
});

test('an assertion is a compact ES256 JWS over exactly the claims the in-cluster Envoy checks', async () => {
  const { pem, publicKey } = p256Pem();
  const signer = await AssertionSigner.fromPem(pem);
  const nowMs = 1_700_000_000_999;
  const token = await signer.sign(claims, nowMs);
  const parts = token.split('.');
  expect(parts).toHaveLength(3);
  expect(decodePart(parts[0]!)).toEqual({ alg: 'ES256', typ: 'JWT', kid: signer.keyId });
  const iat = 1_700_000_000;
  expect(decodePart(parts[1]!)).toEqual({
    iss: ASSERTION_ISSUER,
    aud: 'prod-a',
    sub: 'rita',
    [ASSERTION_IMPERSONATE_CLAIM]: claims.impersonate,
    jti: 'req-1',
    iat,
    exp: iat + ASSERTION_LIFETIME_SECONDS,
  });
  // JWS wants the raw r||s signature (64 bytes for P-256), not DER.
  const signature = Buffer.from(parts[2]!, 'base64url');
  expect(signature).toHaveLength(64);
  const signingInput = Buffer.from(`${parts[0]}.${parts[1]}`);
  expect(crypto.verify('sha256', signingInput, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
  const other = p256Pem().publicKey;
  expect(crypto.verify('sha256', signingInput, { key: other, dsaEncoding: 'ieee-p1363' }, signature)).toBe(false);
});

test('a SEC1 PEM of the same key gives the same key id', async () => {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = await AssertionSigner.fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const sec1 = await AssertionSigner.fromPem(privateKey.export({ type: 'sec1', format: 'pem' }).toString());
  expect(sec1.keyId).toBe(pkcs8.keyId);
  expect(sec1.jwks()).toBe(pkcs8.jwks());
});

test('keys other than EC P-256 are refused', async () => {
  const p384 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const ed25519 = crypto.generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await expect(AssertionSigner.fromPem(p384)).rejects.toThrow('the assertion signing key must be an EC P-256 private key');
  await expect(AssertionSigner.fromPem(ed25519)).rejects.toThrow('the assertion signing key must be an EC P-256 private key');
});
