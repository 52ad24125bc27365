import { X509Certificate } from 'node:crypto';
import type { Identity } from './decision';

/**
 * Reads a user's identity from the client certificate Envoy already verified: CN is the user,
 * each O is a group (the Kubernetes convention). Parsing is cached by certificate, because the
 * same certificate arrives on every request of a session.
 */
export class CertificateIdentityReader {
  private readonly cache = new Map<string, Identity | null>();
  constructor(private readonly maxEntries = 10000) {}

  read(certPem: string): Identity | null {
    if (!certPem) return null;
    // Keyed by the PEM itself: a string Map lookup is cheaper than hashing it ourselves.
    const key = certPem;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const identity = parse(certPem);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, identity);
    return identity;
  }
}

function parse(certPem: string): Identity | null {
  try {
    const cert = new X509Certificate(certPem);
    const lines = cert.subject.split('\n');
    const user = lines.find((l) => l.startsWith('CN='))?.slice(3) ?? '';
    if (!user) return null;
    const groups = lines.filter((l) => l.startsWith('O=')).map((l) => l.slice(2));
    return { user, groups };
  } catch {
    return null;
  }
}
