/**
 * The admin API's certificate carries the names it is reached at (apiNames) besides loopback,
 * so the CLI can verify it through a Service's public address; a certificate issued before a
 * name was configured is re-issued, one that has them all is kept.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { summarizeCertificate } from '../../control-plane/pki/certificates';
import { loadOrCreatePki } from '../../control-plane/pki/kubegate-pki';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-api-names-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('loopback only by default; configured DNS names and addresses are added', () => {
  const plain = summarizeCertificate(loadOrCreatePki({ stateDir: dir, now: new Date() }).apiServing.certPem);
  expect(plain.dnsNames).toEqual(['localhost']);
  expect(plain.ipAddresses).toEqual(['127.0.0.1']);

  const named = summarizeCertificate(loadOrCreatePki({ stateDir: dir, now: new Date(), apiNames: ['hub.example', '10.215.3.2'] }).apiServing.certPem);
  expect(named.dnsNames).toEqual(['localhost', 'hub.example']);
  expect(named.ipAddresses).toEqual(['127.0.0.1', '10.215.3.2']);
  expect(named.serial).not.toBe(plain.serial);
});

test('a certificate that already names everything is kept across restarts', () => {
  const first = loadOrCreatePki({ stateDir: dir, now: new Date(), apiNames: ['hub.example'] }).apiServing.certPem;
  expect(loadOrCreatePki({ stateDir: dir, now: new Date(), apiNames: ['hub.example'] }).apiServing.certPem).toBe(first);
  expect(loadOrCreatePki({ stateDir: dir, now: new Date() }).apiServing.certPem).toBe(first);
});
