/**
 * A load generator for the control plane's ext_authz Check service, run as its own process (like
 * bench/load-worker.ts) so that its CPU is not the control plane's. It speaks what Envoy speaks:
 * unary gRPC over mTLS HTTP/2 (a client certificate from the internal CA), a few long-lived
 * connections (Envoy keeps one per worker thread), and real envoy.service.auth.v3.CheckRequest
 * messages carrying the user's certificate URL-encoded as Envoy forwards it, the TLS server
 * name, the method and the path.
 *
 * Closed loop: `concurrency` calls in flight, for `seconds`. `missFraction` of the calls name an
 * object never named before (their decision cannot come from the cache); the rest are drawn
 * from a fixed pool of requests that repeat, as kubectl's and controllers' requests do.
 *
 * Input: JSON CheckLoadInput on stdin. Output: JSON CheckLoadResult on stdout.
 */
import * as http2 from 'node:http2';
import type * as protobuf from 'protobufjs';
import { envoyProtos } from '../control-plane/proto/envoy-protos';
import { CHECK_METHOD_PATH, frameMessage } from '../control-plane/authz/check-server';
import { percentile } from './load';
import { random } from './bench-support';
import { requestFor, type RequestLine } from './authz-support';

export interface CheckUser {
  /** Index i of user-<i> (bench/authz-support.ts). */
  readonly index: number;
  readonly name: string;
  /** The PEM as Envoy sends it (include_peer_certificate): URL-encoded. */
  readonly encodedCertificate: string;
  /** The URI SAN Envoy reports as the peer's principal. */
  readonly principal: string;
  readonly sni: string;
}

export interface CheckLoadInput {
  readonly port: number;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** Name the control plane's certificate carries. */
  readonly servername: string;
  readonly users: readonly CheckUser[];
  /** HTTP/2 connections, calls spread round-robin. @default 2 */
  readonly connections?: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly missFraction: number;
  /** Distinct requests that repeat. @default 4 per user */
  readonly hitPoolSize?: number;
  /** Of requests, how many stay within what the user's teams may do. @default 0.8 */
  readonly targetedFraction?: number;
  /**
   * First number for never-seen object names; give each run its own range so that one run's
   * misses are not the next run's hits. @default 0
   */
  readonly uniqueStart?: number;
  /** The edge's address as it would appear in the request (authority, destination). */
  readonly edgePort: number;
  readonly seed?: number;
}

export interface CheckLoadResult {
  readonly decisions: number;
  readonly allowed: number;
  readonly denied: number;
  /** Calls that did not return grpc-status 0 with a CheckResponse. */
  readonly errors: number;
  readonly misses: number;
  readonly seconds: number;
  readonly decisionsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanRequestBytes: number;
  readonly loadGeneratorCpuSeconds: number;
}

interface Codec {
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
}

function checkRequest(codec: Codec, edgePort: number, user: CheckUser, line: RequestLine, id: string, sourcePort: number): Buffer {
  const now = Date.now();
  const authority = `127.0.0.1:${edgePort}`;
  const message = {
    attributes: {
      source: {
        address: { socket_address: { address: '127.0.0.1', port_value: sourcePort } },
        principal: user.principal,
        certificate: user.encodedCertificate,
      },
      destination: {
        address: { socket_address: { address: '127.0.0.1', port_value: edgePort } },
        principal: user.sni,
      },
      request: {
        time: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 },
        http: {
          id,
          method: line.method,
          headers: { ':authority': authority, ':method': line.method, ':path': line.path },
          path: line.path,
          host: authority,
          scheme: 'https',
          protocol: 'HTTP/2',
        },
      },
      tls_session: { sni: user.sni },
    },
  };
  return frameMessage(codec.request.encode(codec.request.fromObject(message)).finish());
}

/** A 32-hex-digit request id, as Envoy's x-request-id (a UUID) is about that long. */
const requestId = (n: number, salt: number) => `${salt.toString(16).padStart(8, '0')}-${n.toString(16).padStart(12, '0')}-bench`;

/**
 * The stream of framed CheckRequests a run sends: `missFraction` of them name an object never
 * named before, the rest come round-robin from a pool encoded once. Also used in-process by the
 * benchmark, to time the same requests without the transport.
 */
export class CheckRequestSource {
  private readonly codec: Codec;
  private readonly rand: () => number;
  private readonly salt: number;
  private readonly pool: Buffer[] = [];
  private sent = 0;
  private unique = 0;
  misses = 0;

  constructor(private readonly input: Pick<CheckLoadInput, 'users' | 'hitPoolSize' | 'targetedFraction' | 'edgePort' | 'seed' | 'missFraction' | 'uniqueStart'>) {
    const protos = envoyProtos();
    this.codec = { request: protos.lookupType('envoy.service.auth.v3.CheckRequest'), response: protos.lookupType('envoy.service.auth.v3.CheckResponse') };
    this.rand = random(input.seed ?? 7);
    this.salt = Math.floor(this.rand() * 0xffffffff);
    const poolSize = input.hitPoolSize ?? input.users.length * 4;
    for (let k = 0; k < poolSize; k++) {
      const user = this.pick();
      this.pool.push(checkRequest(this.codec, input.edgePort, user, requestFor(user.index, this.rand, this.rand() < this.targeted), requestId(k, this.salt), 40000 + (k % 20000)));
    }
  }

  private get targeted(): number {
    return this.input.targetedFraction ?? 0.8;
  }

  private pick(): CheckUser {
    return this.input.users[Math.floor(this.rand() * this.input.users.length)]!;
  }

  get responseType(): protobuf.Type {
    return this.codec.response;
  }

  get requestType(): protobuf.Type {
    return this.codec.request;
  }

  next(): Buffer {
    this.sent++;
    if (this.rand() < this.input.missFraction) {
      const user = this.pick();
      const n = (this.input.uniqueStart ?? 0) + this.unique++;
      this.misses++;
      return checkRequest(this.codec, this.input.edgePort, user, requestFor(user.index, this.rand, this.rand() < this.targeted, n), requestId(this.pool.length + n, this.salt), 40000 + (n % 20000));
    }
    return this.pool[this.sent % this.pool.length]!;
  }
}

export async function runCheckLoad(input: CheckLoadInput): Promise<CheckLoadResult> {
  const source = new CheckRequestSource(input);
  const codec: Codec = { request: source.requestType, response: source.responseType };

  const sessions = await Promise.all(
    Array.from({ length: input.connections ?? 2 }, () =>
      new Promise<http2.ClientHttp2Session>((resolve, reject) => {
        const s = http2.connect(`https://127.0.0.1:${input.port}`, { ca: input.caPem, cert: input.certPem, key: input.keyPem, servername: input.servername });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    ),
  );

  let decisions = 0;
  let allowed = 0;
  let denied = 0;
  let errors = 0;
  let sent = 0;
  let bytes = 0;
  const latencies: number[] = [];

  const call = (session: http2.ClientHttp2Session, body: Buffer) =>
    new Promise<void>((resolve) => {
      const start = process.hrtime.bigint();
      const stream = session.request({ ':method': 'POST', ':path': CHECK_METHOD_PATH, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '2000m' });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      stream.on('response', (headers) => {
        if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
      });
      stream.on('trailers', (trailers) => {
        if (trailers['grpc-status'] !== undefined) status = String(trailers['grpc-status']);
      });
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('error', () => undefined);
      stream.on('close', () => {
        const body = Buffer.concat(chunks);
        if (status !== '0' || body.length < 5) {
          errors++;
        } else {
          const response = codec.response.decode(body.subarray(5)) as unknown as { status?: { code?: number } };
          decisions++;
          if ((response.status?.code ?? 0) === 0) allowed++;
          else denied++;
          latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
        resolve();
      });
      stream.end(body);
    });

  const deadline = process.hrtime.bigint() + BigInt(Math.round(input.seconds * 1e9));
  const worker = async (w: number) => {
    const session = sessions[w % sessions.length]!;
    while (process.hrtime.bigint() < deadline) {
      const body = source.next();
      sent++;
      bytes += body.length;
      await call(session, body);
    }
  };
  const cpuBefore = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: input.concurrency }, (_, w) => worker(w)));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  for (const s of sessions) s.close();
  latencies.sort((a, b) => a - b);
  return {
    decisions,
    allowed,
    denied,
    errors,
    misses: source.misses,
    seconds,
    decisionsPerSecond: decisions / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    meanRequestBytes: Math.round(bytes / Math.max(1, sent)),
    loadGeneratorCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const result = await runCheckLoad(JSON.parse(input) as CheckLoadInput);
  process.stdout.write(JSON.stringify(result));
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`check load worker failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
