/**
 * All the X.509 material a local cluster needs, written to <stateDir>/pki in kubeadm's layout
 * so the files look familiar. Every hop is mutual TLS, with two separate trust domains:
 *   - etcd CA: etcd's serving and peer certificates, and the apiserver's client certificate
 *     for etcd. Nothing signed by the cluster CA can talk to etcd.
 *   - cluster CA: the apiserver's serving certificate and every client certificate the
 *     apiserver accepts (--client-ca-file), e.g. the admin's and kubegate's proxy identity.
 * Plus the RSA key pair the apiserver signs and verifies service-account tokens with.
 * Everything is made fresh for each start: the cluster is disposable.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../../control-plane/pki/certificates';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const CA_LIFETIME_MS = 365 * DAY_MS;
const LEAF_LIFETIME_MS = 30 * DAY_MS;
/** Certificates start a little before `now` so a second-rounded notBefore is never in the future. */
const BACKDATE_MS = 5 * MINUTE_MS;

export const ADMIN_COMMON_NAME = 'kubegate:harness-admin';
export const ADMIN_GROUP = 'system:masters';

/** The names a client inside or outside the cluster may use for the apiserver. */
const APISERVER_DNS_NAMES = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
const LOOPBACK_IPS = ['127.0.0.1', '::1'];

export interface PemFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export type KeyPairFiles = KeyPairPem & PemFiles;

export interface ClusterPkiProps {
  /** Directory the files are written to (created if needed). */
  readonly dir: string;
  /** Start of every validity period. */
  readonly now: Date;
  /** The apiserver's in-cluster address: the first IP of the service range. */
  readonly serviceIp: string;
}

export interface ClusterPki {
  readonly dir: string;
  readonly etcdCa: KeyPairFiles;
  readonly etcdServer: KeyPairFiles;
  readonly etcdPeer: KeyPairFiles;
  readonly apiserverEtcdClient: KeyPairFiles;
  /** Signs the apiserver's serving certificate and every client certificate it accepts. */
  readonly clusterCa: KeyPairFiles;
  readonly apiserverServing: KeyPairFiles;
  /** CN kubegate:harness-admin, O system:masters: unrestricted access. */
  readonly admin: KeyPairFiles;
  readonly serviceAccount: { readonly privateKeyFile: string; readonly publicKeyFile: string };
  /**
   * A client certificate from the cluster CA: the apiserver sees user `commonName` in
   * `groups`. Valid for 30 days from `now`.
   * @param now @default the current time
   */
  issueClientCertificate(commonName: string, groups: readonly string[], now?: Date): KeyPairPem;
  /**
   * A serving certificate from the cluster CA for these names, which the apiserver verifies a
   * kubelet's against (--kubelet-certificate-authority). Valid for 30 days from `now`.
   * @param now @default the current time
   */
  issueServingCertificate(commonName: string, names: { readonly dnsNames?: readonly string[]; readonly ipAddresses?: readonly string[] }, now?: Date): KeyPairPem;
}

/** Writes `<dir>/<name>.crt` (0644) and `<dir>/<name>.key` (0600). */
export function writePair(dir: string, name: string, pair: KeyPairPem): KeyPairFiles {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  fs.mkdirSync(path.dirname(certFile), { recursive: true });
  fs.writeFileSync(certFile, pair.certPem, { mode: 0o644 });
  fs.writeFileSync(keyFile, pair.keyPem, { mode: 0o600 });
  return { ...pair, certFile, keyFile };
}

/** The validity of every leaf certificate of a cluster started at `now`. */
export function leafValidity(now: Date): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + LEAF_LIFETIME_MS) };
}

function newCa(commonName: string, now: Date): KeyPairPem {
  return createCertificateAuthority({ commonName, notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + CA_LIFETIME_MS) });
}

export function createClusterPki(props: ClusterPkiProps): ClusterPki {
  const { dir, now } = props;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const validity = leafValidity(now);

  const etcdCa = writePair(dir, 'etcd/ca', newCa('kubegate-harness-etcd-ca', now));
  // etcd dials its own client port (the gRPC gateway) presenting its serving certificate, so
  // that certificate needs the client-auth usage too, or etcd logs rejected connections.
  const etcdServer = writePair(dir, 'etcd/server', issueCertificate(etcdCa, {
    commonName: 'etcd-server', dnsNames: ['localhost'], ipAddresses: LOOPBACK_IPS, usage: 'server-and-client', ...validity,
  }));
  // Peer certificates are presented in both directions between members.
  const etcdPeer = writePair(dir, 'etcd/peer', issueCertificate(etcdCa, {
    commonName: 'etcd-peer', dnsNames: ['localhost'], ipAddresses: LOOPBACK_IPS, usage: 'server-and-client', ...validity,
  }));
  const apiserverEtcdClient = writePair(dir, 'apiserver-etcd-client', issueCertificate(etcdCa, {
    commonName: 'kube-apiserver-etcd-client', usage: 'client', ...validity,
  }));

  const clusterCa = writePair(dir, 'ca', newCa('kubegate-harness-cluster-ca', now));
  const apiserverServing = writePair(dir, 'apiserver', issueCertificate(clusterCa, {
    commonName: 'kube-apiserver',
    dnsNames: APISERVER_DNS_NAMES,
    ipAddresses: [...LOOPBACK_IPS, props.serviceIp],
    usage: 'server',
    ...validity,
  }));
  const admin = writePair(dir, 'admin', issueCertificate(clusterCa, {
    commonName: ADMIN_COMMON_NAME, organizations: [ADMIN_GROUP], usage: 'client', ...validity,
  }));

  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serviceAccount = { privateKeyFile: path.join(dir, 'sa.key'), publicKeyFile: path.join(dir, 'sa.pub') };
  fs.writeFileSync(serviceAccount.privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  fs.writeFileSync(serviceAccount.publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });

  return {
    dir,
    etcdCa,
    etcdServer,
    etcdPeer,
    apiserverEtcdClient,
    clusterCa,
    apiserverServing,
    admin,
    serviceAccount,
    issueClientCertificate(commonName, groups, at = new Date()) {
      return issueCertificate(clusterCa, { commonName, organizations: groups, usage: 'client', ...leafValidity(at) });
    },
    issueServingCertificate(commonName, names, at = new Date()) {
      return issueCertificate(clusterCa, { commonName, dnsNames: names.dnsNames ?? [], ipAddresses: names.ipAddresses ?? [], usage: 'server', ...leafValidity(at) });
    },
  };
}
