// A stand-in upstream (plain HTTP, loopback): /watch streams a line every 200 ms until the client
// goes away (a long-lived request like a Kubernetes watch); /whoami echoes what the edge forwarded.
import { createServer } from 'node:http';
const port = +process.argv[2];
createServer((req, res) => {
  if (req.url.startsWith('/watch')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const t = setInterval(() => res.write(`tick ${Date.now()}\n`), 200);
    res.on('close', () => clearInterval(t));
    return;
  }
  const body = JSON.stringify({ xff: req.headers['x-forwarded-for'], xfcc: req.headers['x-forwarded-client-cert'] }) + '\n';
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(port, '127.0.0.1');
