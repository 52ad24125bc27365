/**
 * A real HTTPS audit webhook receiver on 127.0.0.1 for the webhook export tests: mutual TLS
 * (it asks for a client certificate from its own client CA), records every request it gets and
 * every batch it accepts, and can be told to be down, to answer 503, 429 or 400, or to accept a
 * batch and lose the answer (the connection dies before the 200 leaves).
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../../control-plane/pki/certificates';

export type SinkMode =
  /** 200: the batch is accepted. */
  | 'ok'
  /** 503 with a body. */
  | 'unavailable'
  /** 429 with Retry-After: 0. */
  | 'busy'
  /** 400 with a body, once; then ok. */
  | 'reject-once'
  /** The batch is accepted, then the connection is destroyed before any answer; once; then ok. */
  | 'lose-answer-once';

export interface ReceivedRequest {
  readonly answered: number | 'lost';
  readonly seqs: readonly number[];
  readonly authorization: string | undefined;
  readonly bytes: number;
  readonly body: string;
}

export interface SinkPki {
  readonly dir: string;
  readonly caFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** A CA that did not sign the server's certificate. */
  readonly otherCaFile: string;
  readonly server: KeyPairPem;
  readonly clientCa: KeyPairPem;
}

export function makeSinkPki(dir: string): SinkPki {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const serverCa = createCertificateAuthority({ commonName: 'test sink CA', notBefore, notAfter });
  const clientCa = createCertificateAuthority({ commonName: 'test kubegate exporter CA', notBefore, notAfter });
  const otherCa = createCertificateAuthority({ commonName: 'some other CA', notBefore, notAfter });
  const server = issueCertificate(serverCa, { commonName: 'sink', ipAddresses: ['127.0.0.1'], usage: 'server', notBefore, notAfter });
  const client = issueCertificate(clientCa, { commonName: 'kubegate-audit-export', usage: 'client', notBefore, notAfter });
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  return {
    dir,
    caFile: write('sink-ca.pem', serverCa.certPem),
    clientCertFile: write('client.pem', client.certPem),
    clientKeyFile: write('client-key.pem', client.keyPem),
    otherCaFile: write('other-ca.pem', otherCa.certPem),
    server,
    clientCa,
  };
}

/** A free port on 127.0.0.1 with nothing listening on it (yet). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class AuditSinkServer {
  mode: SinkMode = 'ok';
  readonly requests: ReceivedRequest[] = [];
  /** The batches it accepted (including one whose answer was lost), each as its seqs. */
  readonly accepted: Array<readonly number[]> = [];
  /** Requests that were not an audit.k8s.io/v1 EventList POSTed as JSON. */
  readonly unexpected: string[] = [];
  private server: https.Server | undefined;

  constructor(
    private readonly pki: SinkPki,
    readonly port: number,
  ) {}

  get url(): string {
    return `https://127.0.0.1:${this.port}/audit`;
  }

  async listen(): Promise<void> {
    const server = https.createServer(
      { key: this.pki.server.keyPem, cert: this.pki.server.certPem, ca: this.pki.clientCa.certPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let list: { kind?: string; apiVersion?: string; items: Array<{ annotations: Record<string, string> }> };
          try {
            list = JSON.parse(body) as typeof list;
          } catch {
            list = { items: [] };
          }
          if (list.kind !== 'EventList' || list.apiVersion !== 'audit.k8s.io/v1' || req.method !== 'POST' || req.headers['content-type'] !== 'application/json') {
            // Not thrown: the test asserts this list is empty.
            this.unexpected.push(`${req.method} ${req.headers['content-type']} ${body.slice(0, 200)}`);
            res.writeHead(500).end();
            return;
          }
          const seqs = list.items.map((i) => Number(i.annotations['kubegate.dev/seq']));
          const record = (answered: number | 'lost') => this.requests.push({ answered, seqs, authorization: req.headers.authorization, bytes: Buffer.byteLength(body), body });
          switch (this.mode) {
            case 'ok':
              this.accepted.push(seqs);
              record(200);
              res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
              return;
            case 'unavailable':
              record(503);
              res.writeHead(503).end('down for maintenance');
              return;
            case 'busy':
              record(429);
              res.writeHead(429, { 'retry-after': '0' }).end('slow down');
              return;
            case 'reject-once':
              this.mode = 'ok';
              record(400);
              res.writeHead(400, { 'content-type': 'text/plain' }).end('bad audit event: annotations too large');
              return;
            case 'lose-answer-once':
              this.mode = 'ok';
              this.accepted.push(seqs);
              record('lost');
              req.socket.destroy();
              return;
          }
        });
      },
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
