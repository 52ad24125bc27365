import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ADMIN_COMMON_NAME, createClusterPki, type ClusterPki } from '../../dev/local-cluster/cluster-pki';
import { summarizeCertificate } from '../../control-plane/pki/certificates';

const DAY_MS = 86_400_000;
const now = new Date('2030-01-15T12:00:00Z');
let dir: string;
let pki: ClusterPki;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-cluster-pki-'));
  pki = createClusterPki({ dir, now, serviceIp: '10.0.0.1' });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const x509 = (pem: string) => new crypto.X509Certificate(pem);
const signedBy = (leaf: string, ca: string) => x509(leaf).checkIssued(x509(ca)) && x509(leaf).verify(x509(ca).publicKey);

test('the apiserver serving certificate carries every name clients use for it', () => {
  const san = x509(pki.apiserverServing.certPem).subjectAltName!.split(', ');
  expect(san).toEqual(
    expect.arrayContaining([
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'IP Address:10.0.0.1',
    ]),
  );
  expect(x509(pki.apiserverServing.certPem).checkHost('kubernetes.default.svc')).toBe('kubernetes.default.svc');
  expect(x509(pki.apiserverServing.certPem).checkIP('127.0.0.1')).toBe('127.0.0.1');
});

test('etcd and the cluster are separate trust domains', () => {
  expect(signedBy(pki.etcdServer.certPem, pki.etcdCa.certPem)).toBe(true);
  expect(signedBy(pki.etcdPeer.certPem, pki.etcdCa.certPem)).toBe(true);
  expect(signedBy(pki.apiserverEtcdClient.certPem, pki.etcdCa.certPem)).toBe(true);
  expect(signedBy(pki.apiserverServing.certPem, pki.clusterCa.certPem)).toBe(true);
  expect(signedBy(pki.admin.certPem, pki.clusterCa.certPem)).toBe(true);
  // Nothing the cluster CA signs is trusted by etcd, and the reverse.
  expect(signedBy(pki.admin.certPem, pki.etcdCa.certPem)).toBe(false);
  expect(signedBy(pki.apiserverEtcdClient.certPem, pki.clusterCa.certPem)).toBe(false);
  expect(x509(pki.etcdServer.certPem).checkIP('127.0.0.1')).toBe('127.0.0.1');
});

test('the admin is kubegate:harness-admin in system:masters', () => {
  const admin = summarizeCertificate(pki.admin.certPem);
  expect(admin.commonName).toBe(ADMIN_COMMON_NAME);
  expect(admin.organizations).toEqual(['system:masters']);
});

test('lifetimes are measured from now: a year for CAs, 30 days for leaves', () => {
  const ca = summarizeCertificate(pki.clusterCa.certPem);
  const leaf = summarizeCertificate(pki.apiserverServing.certPem);
  expect(ca.notBefore.getTime()).toBeLessThanOrEqual(now.getTime());
  expect(ca.notAfter.getTime()).toBe(now.getTime() + 365 * DAY_MS);
  expect(leaf.notBefore.getTime()).toBeLessThanOrEqual(now.getTime());
  expect(leaf.notAfter.getTime()).toBe(now.getTime() + 30 * DAY_MS);
});

test('issueClientCertificate issues from the cluster CA with the groups as O', () => {
  const later = new Date(now.getTime() + 10 * DAY_MS);
  const edge = pki.issueClientCertificate('kubegate:edge', ['kubegate:proxies', 'team-a'], later);
  expect(signedBy(edge.certPem, pki.clusterCa.certPem)).toBe(true);
  const summary = summarizeCertificate(edge.certPem);
  expect(summary).toMatchObject({ commonName: 'kubegate:edge', organizations: ['kubegate:proxies', 'team-a'] });
  expect(summary.notAfter.getTime()).toBe(later.getTime() + 30 * DAY_MS);
  expect(x509(edge.certPem).checkPrivateKey(crypto.createPrivateKey(edge.keyPem))).toBe(true);
});

test('the service-account key files are one RSA key pair', () => {
  const privateKey = crypto.createPrivateKey(fs.readFileSync(pki.serviceAccount.privateKeyFile));
  const publicKey = crypto.createPublicKey(fs.readFileSync(pki.serviceAccount.publicKeyFile));
  expect(privateKey.asymmetricKeyType).toBe('rsa');
  const signature = crypto.sign('sha256', Buffer.from('token'), privateKey);
  expect(crypto.verify('sha256', Buffer.from('token'), publicKey, signature)).toBe(true);
});

test('files are laid out like kubeadm, private keys readable by the owner only', () => {
  for (const name of ['ca', 'apiserver', 'admin', 'apiserver-etcd-client', 'etcd/ca', 'etcd/server', 'etcd/peer']) {
    expect(fs.readFileSync(path.join(dir, `${name}.crt`), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(fs.statSync(path.join(dir, `${name}.key`)).mode & 0o077).toBe(0);
  }
  expect(fs.statSync(pki.serviceAccount.privateKeyFile).mode & 0o077).toBe(0);
  expect(pki.apiserverServing.certFile).toBe(path.join(dir, 'apiserver.crt'));
});
