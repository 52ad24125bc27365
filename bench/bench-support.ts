/**
 * Pieces the benchmarks share: creating many users quickly, user certificates by the hundred,
 * waiting until an Envoy has ACKed a snapshot, reading memory figures, and writing results.
 * Benchmark code only: nothing here is used by kubegate itself.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import forge from 'node-forge';
import { openStore } from '../control-plane/store/open-store';
import type { Store } from '../control-plane/store/store';
import type { KeyPairPem } from '../control-plane/pki/certificates';
import { normalizeSerial } from '../control-plane/pki/certificates';
import { userUri } from '../control-plane/identity/user-identity';
import type { SnapshotCache } from '../control-plane/xds/snapshot-cache';
import type { Snapshot } from '../control-plane/xds/snapshot';
import { LISTENER_TYPE_URL, RESOURCE_TYPES, type TypeUrl } from '../control-plane/xds/resource-types';
import type { EnvoyProcess } from '../dev/process/envoy-process';

/** Deterministic, so runs are comparable (mulberry32, as bench/policy-engine.ts). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs task(0) … task(count - 1), at most `concurrency` at a time. After a failure no further
 * task starts; once those in flight have settled, it rejects with the first failure.
 */
export async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < count && !failure) {
      try {
        await task(next++);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  if (failure) throw failure.error;
}

export async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs: number, what: string, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/**
 * Creates users through a second handle on the same SQLite file. The control plane watches its
 * own store handle only (SQLite change notifications are in-process, per handle), so thousands
 * of inserts do not each trigger a reload and a snapshot; the caller refreshes once afterwards.
 */
export async function bulkCreateUsers(storeFile: string, users: readonly { name: string; groups: readonly string[] }[]): Promise<void> {
  const store: Store = await openStore(`sqlite:${storeFile}`);
  try {
    const now = Date.now();
    for (const u of users) await store.createUser({ name: u.name, groups: u.groups, now });
  } finally {
    await store.close();
  }
}

/** What the store keeps of an issued certificate: enough for the edge to give its user a chain. */
export interface CertificateRecordInput {
  readonly user: string;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * A certificate record for a user who fetched a kubeconfig but whose certificate the benchmark
 * never presents: a random serial, valid from a minute ago for ttlMs.
 */
export function unpresentedCertificate(user: string, ttlMs: number, now = Date.now()): CertificateRecordInput {
  const serial = crypto.randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  return { user, serial: normalizeSerial(serial.toString('hex')), notBefore: now - 60_000, notAfter: now + ttlMs };
}

/**
 * Records issued certificates through a second handle on the SQLite file, in one go (as
 * bulkCreateUsers creates users): the control plane learns of them at its next reload, so
 * thousands of them cost one snapshot, not one each.
 */
export async function bulkRecordCertificates(storeFile: string, certificates: readonly CertificateRecordInput[]): Promise<void> {
  const store: Store = await openStore(`sqlite:${storeFile}`);
  try {
    const now = Date.now();
    for (const c of certificates) await store.recordCertificate({ serial: c.serial, user: c.user, notBefore: c.notBefore, notAfter: c.notAfter, issuedAt: now });
  } finally {
    await store.close();
  }
}

/**
 * User client certificates as issueUserCertificate makes them (signed by the user CA, the
 * user's URI SAN and CN, client usage), except that they share one RSA key: generating a
 * 2048-bit key costs ~100-250 ms on a small machine, and a benchmark needs hundreds of users.
 * Neither Envoy nor the control plane reads anything from a client certificate but its chain
 * and its SAN, so sharing the key changes nothing they measure. Signing uses node's native RSA.
 */
export class BenchUserCertificates {
  private readonly key: forge.pki.rsa.PrivateKey;
  private readonly keyPem: string;
  private readonly publicKey: forge.pki.PublicKey;
  private readonly caCert: forge.pki.Certificate;
  private readonly caKeyPem: string;
  private readonly authorityKeyId: string;

  constructor(userCa: KeyPairPem) {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    this.key = forge.pki.privateKeyFromPem(this.keyPem) as forge.pki.rsa.PrivateKey;
    this.publicKey = forge.pki.setRsaPublicKey(this.key.n, this.key.e);
    this.caCert = forge.pki.certificateFromPem(userCa.certPem);
    this.caKeyPem = userCa.keyPem;
    this.authorityKeyId = this.caCert.generateSubjectKeyIdentifier().getBytes();
  }

  issue(user: string, ttlMs: number, now = new Date()): KeyPairPem & { serial: string; notBefore: Date; notAfter: Date } {
    const cert = forge.pki.createCertificate();
    cert.publicKey = this.publicKey;
    const serial = crypto.randomBytes(16);
    serial[0] = serial[0]! & 0x7f;
    cert.serialNumber = serial.toString('hex');
    const notBefore = new Date(now.getTime() - 60_000);
    const notAfter = new Date(now.getTime() + ttlMs);
    cert.validity.notBefore = notBefore;
    cert.validity.notAfter = notAfter;
    cert.setSubject([{ name: 'commonName', value: user }]);
    cert.setIssuer(this.caCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: false, clientAuth: true },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.authorityKeyId },
      { name: 'subjectAltName', altNames: [{ type: 6, value: userUri(user) }] },
    ]);
    // What cert.sign() does, with node's native RSA instead of forge's JavaScript one.
    const c = cert as unknown as { signatureOid: string; siginfo: { algorithmOid: string }; tbsCertificate: forge.asn1.Asn1; signature: string };
    c.signatureOid = c.siginfo.algorithmOid = forge.pki.oids['sha256WithRSAEncryption']!;
    // getTBSCertificate exists in node-forge but is missing from its type definitions.
    c.tbsCertificate = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
    const tbs = Buffer.from(forge.asn1.toDer(c.tbsCertificate).getBytes(), 'binary');
    c.signature = crypto.sign('sha256', tbs, this.caKeyPem).toString('binary');
    const certPem = forge.pki.certificateToPem(cert);
    return { certPem, keyPem: this.keyPem, serial: normalizeSerial(cert.serialNumber), notBefore, notAfter };
  }
}

/** Whether a certificate really chains to the CA (a sanity check on BenchUserCertificates). */
export function signedBy(certPem: string, caPem: string): boolean {
  return new crypto.X509Certificate(certPem).verify(new crypto.X509Certificate(caPem).publicKey);
}

/** True once the node has ACKed every type of `snapshot` (or only LDS with `ldsOnly`). */
export function acked(cache: SnapshotCache, nodeId: string, snapshot: Snapshot, ldsOnly = false): boolean {
  const status = cache.nodeStatus(nodeId);
  if (!status) return false;
  const types: TypeUrl[] = ldsOnly ? [LISTENER_TYPE_URL] : RESOURCE_TYPES.map((t) => t.typeUrl);
  return types.every((t) => status.types[t]?.ackedVersion === snapshot.version(t));
}

/** Polls (every `everyMs`) until `acked`; resolves with the time it took, in ms, from `since`. */
export async function waitForAck(cache: SnapshotCache, nodeId: string, snapshot: Snapshot, since: number, opts: { timeoutMs?: number; ldsOnly?: boolean; everyMs?: number } = {}): Promise<number> {
  await waitFor(() => acked(cache, nodeId, snapshot, opts.ldsOnly), opts.timeoutMs ?? 300_000, `node ${nodeId} ACKs snapshot ${snapshot.version()}`, opts.everyMs ?? 5);
  return performance.now() - since;
}

/**
 * Watches, from the moment it is created, which versions of one resource type a node ACKs and
 * when (polling every `everyMs`): an ACK that arrives while the caller is busy elsewhere (waiting
 * for a CLI to exit, say) is still timed when it arrived, not when the caller looked.
 */
export class AckTracker {
  private readonly ackedAtByVersion = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly cache: SnapshotCache,
    private readonly nodeId: string,
    private readonly typeUrl: TypeUrl = LISTENER_TYPE_URL,
    everyMs = 2,
  ) {
    this.timer = setInterval(() => this.poll(), everyMs);
    this.poll();
  }

  private poll(): void {
    const version = this.cache.nodeStatus(this.nodeId)?.types[this.typeUrl]?.ackedVersion;
    if (version !== undefined && !this.ackedAtByVersion.has(version)) this.ackedAtByVersion.set(version, performance.now());
  }

  /** When `snapshot`'s version of the type was first seen ACKed (performance.now()), or null by the timeout. */
  async ackedAt(snapshot: Snapshot, timeoutMs: number): Promise<number | null> {
    const version = snapshot.version(this.typeUrl);
    try {
      return await waitFor(() => this.ackedAtByVersion.get(version), timeoutMs, `ACK of ${version}`, 2);
    } catch {
      return null;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Resident set size of a process, in KiB (the unit /proc reports it in). */
export function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
}

/** Resident set size of a process, in MiB, from /proc. */
export function rssMiB(pid: number): number {
  return Math.round((rssKiB(pid) / 1024) * 10) / 10;
}

export interface EnvoyMemory {
  /** tcmalloc's bytes in use, from admin /memory. */
  readonly allocatedMiB: number;
  readonly heapSizeMiB: number;
  readonly rssMiB: number;
}

/** tcmalloc's bytes in use and heap size, from the Envoy admin /memory, exact. */
export async function envoyHeapBytes(envoy: EnvoyProcess): Promise<{ allocated: number; heapSize: number }> {
  const r = await envoy.admin('/memory');
  const m = JSON.parse(r.body) as { allocated?: string; heap_size?: string };
  return { allocated: Number(m.allocated ?? NaN), heapSize: Number(m.heap_size ?? NaN) };
}

export async function envoyMemory(envoy: EnvoyProcess): Promise<EnvoyMemory> {
  const heap = await envoyHeapBytes(envoy);
  const mib = (v: number) => Math.round((v / 1048576) * 10) / 10;
  return { allocatedMiB: mib(heap.allocated), heapSizeMiB: mib(heap.heapSize), rssMiB: rssMiB(envoy.pid!) };
}

/** One counter or gauge from the Envoy admin /stats, or undefined. */
export async function envoyStat(envoy: EnvoyProcess, name: string): Promise<number | undefined> {
  const r = await envoy.admin(`/stats?filter=${encodeURIComponent(`^${name.replace(/\./g, '\\.')}$`)}`);
  const m = new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)`, 'm').exec(r.body);
  return m ? Number(m[1]) : undefined;
}

/** What else was running: the benchmark's figures mean little on a busy machine. */
export function machine(): { cpus: number; model: string; loadAverage: number[]; memoryGiB: number } {
  return {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model ?? '',
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** The repository's root (this file runs from dist/bench). */
export const REPO_ROOT = path.join(__dirname, '..', '..');

/** <outDir>/<name>.json; by default bench/results/, next to the sources. */
export function writeResults(name: string, report: object, outDir = path.join(REPO_ROOT, 'bench', 'results')): string {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(report, null, 2));
  return file;
}

/** min / p50 / p99 / max of a sample, in the sample's unit. */
export function summarize(values: readonly number[]): { n: number; min: number; p50: number; p99: number; max: number; mean: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
  return {
    n: sorted.length,
    min: sorted[0] ?? NaN,
    p50: at(50),
    p99: at(99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : NaN,
  };
}

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;
