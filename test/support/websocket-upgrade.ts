/**
 * Just enough of a WebSocket client to prove an upgraded connection passes through the edge:
 * it sends the RFC 6455 handshake, checks the 101 answer, and collects the raw bytes of
 * the server's frames (server frames are unmasked, so JSON text is readable in them).
 */
import * as https from 'node:https';
import * as crypto from 'node:crypto';
import type { Duplex } from 'node:stream';

export interface UpgradedConnection {
  readonly status: number;
  readonly protocol: string | undefined;
  received(): string;
  /** Resolves when the connection ends (closed by the server, the edge or close()). */
  readonly ended: Promise<void>;
  close(): void;
}

export function openWebSocket(opts: { url: string; caPem: string; certPem: string; keyPem: string; protocols?: string[]; servername?: string }): Promise<UpgradedConnection> {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const req = https.request(opts.url, {
      ca: opts.caPem,
      cert: opts.certPem,
      key: opts.keyPem,
      agent: false,
      ...(opts.servername ? { servername: opts.servername } : {}),
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
        // kube-apiserver's WebSocket watch handler refuses a handshake without an Origin.
        Origin: 'https://kubegate.test',
        ...(opts.protocols ? { 'Sec-WebSocket-Protocol': opts.protocols.join(', ') } : {}),
      },
    });
    req.on('upgrade', (res, socket: Duplex, head: Buffer) => {
      const expectedAccept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      if (res.headers['sec-websocket-accept'] !== expectedAccept) {
        socket.destroy();
        reject(new Error('bad Sec-WebSocket-Accept in the 101 response'));
        return;
      }
      let data = head.toString('latin1');
      socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
      socket.on('error', () => undefined);
      const ended = new Promise<void>((done) => socket.once('close', () => done()));
      resolve({
        status: res.statusCode ?? 0,
        protocol: res.headers['sec-websocket-protocol'] as string | undefined,
        received: () => data,
        ended,
        close: () => socket.destroy(),
      });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => reject(new Error(`no upgrade: HTTP ${res.statusCode} ${body.slice(0, 300)}`)));
    });
    req.on('error', reject);
    req.end();
  });
}
