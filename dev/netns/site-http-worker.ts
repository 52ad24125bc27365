/**
 * Runs inside a firewalled site (started by SiteHttpBridge under `ip netns exec`) and makes
 * the HTTP(S) requests the host asks for over stdin, one JSON object per line, answering each
 * on stdout. The host cannot connect into the site; this gives it eyes inside without opening
 * any network path in, the way an operator's shell on a cluster node would.
 */
import * as readline from 'node:readline';
import { httpsRequest } from '../process/https-probe';
import type { SiteHttpAnswer, SiteHttpAsk } from './site-http-bridge';

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let ask: SiteHttpAsk;
  try {
    ask = JSON.parse(line) as SiteHttpAsk;
  } catch {
    return;
  }
  const answer = (a: SiteHttpAnswer) => process.stdout.write(`${JSON.stringify(a)}\n`);
  httpsRequest(ask.url, ask.tls, { ...(ask.method ? { method: ask.method } : {}), ...(ask.json !== undefined ? { json: ask.json } : {}), timeoutMs: ask.timeoutMs })
    .then((res) => answer({ id: ask.id, status: res.status, body: res.body }))
    .catch((err: Error) => answer({ id: ask.id, error: err.message }));
});
// The host closing stdin (destroy(), a crash) ends the worker.
lines.on('close', () => process.exit(0));
