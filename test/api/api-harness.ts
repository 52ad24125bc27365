/**
 * A real admin API for tests: a SQLite store in a temporary directory, an AccessState loaded
 * from it, real CAs and certificates, and the API server over real HTTPS. `refresh` reloads
 * the AccessState from the store, as the control plane does. The clock is the real time plus
 * an offset tests can advance (certificates stay valid for TLS, which uses the real time).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as https from 'node:https';
import { stringify } from 'yaml';
import { SqliteStore } from '../../control-plane/store/sqlite-store';
import type { Store } from '../../control-plane/store/store';
import type { AuditLog } from '../../control-plane/audit/audit-log';
import { AccessState } from '../../control-plane/access-state/access-state';
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../../control-plane/pki/certificates';
import { issueUserCertificate } from '../../control-plane/credentials/user-certificate';
import { startApiServer, type RunningApiServer } from '../../control-plane/api/api-server';
import { ADMINS_GROUP } from '../../control-plane/api/admins';
import { silentLogger } from '../../control-plane/log/logger';
import { runCli, type CliResult } from '../cli/run-cli';
import type { ClusterInfo } from '../../control-plane/policy-engine/engine-contract';
import type { AgentInstallSettings } from '../../control-plane/api/agent-install-settings';

export { runCli };

export const SUFFIX = 'users.test.invalid';
export const EDGE_URL = 'https://edge.test.invalid:8443';

export const CLUSTERS: readonly ClusterInfo[] = [
  { name: 'alpha', labels: { env: 'dev' } },
  { name: 'beta', labels: { env: 'prod' } },
  { name: 'gamma', labels: { env: 'staging' } },
];

/**
 * Who may do what in these tests:
 *   admins: cluster-admin everywhere; dev: kubectl on alpha; contractors: console only on gamma;
 *   sam: kubectl on beta while a console session is active; oncall: break-glass on beta
 *   (approved by two sre-leads, justification required) and on alpha (no approval, optional
 *   justification, 30m at most).
 */
export const POLICIES = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: admins-everywhere
spec:
  subjects: {groups: ["${ADMINS_GROUP}"]}
  clusters: {all: true}
  clusterRoles: [{name: cluster-admin}]
---
apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: dev-alpha
spec:
  subjects: {groups: [dev]}
  clusters: {names: [alpha]}
  clusterRoles: [{name: edit}]
---
apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: contractors-gamma
spec:
  subjects: {groups: [contractors]}
  clusters: {names: [gamma]}
  accessMode: console-only
  clusterRoles: [{name: view}]
---
apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: sam-beta-with-session
spec:
  subjects: {users: [sam]}
  clusters: {names: [beta]}
  clusterRoles: [{name: view}]
  requireActiveSession: {within: 15m}
`;

export const BREAK_GLASS_POLICIES = `apiVersion: kubegate.dev/v1alpha1
kind: BreakGlassPolicy
metadata:
  name: oncall-beta-admin
spec:
  subjects: {groups: [oncall]}
  clusters: {names: [beta]}
  clusterRoles: [{name: cluster-admin}]
  maxDuration: 2h
  approval:
    required: true
    approvers: {groups: [sre-leads]}
    minApprovals: 2
  justification: required
---
apiVersion: kubegate.dev/v1alpha1
kind: BreakGlassPolicy
metadata:
  name: oncall-alpha-restart
spec:
  subjects: {groups: [oncall]}
  clusters: {names: [alpha]}
  rules:
    - apiGroups: [apps]
      resources: [deployments]
      verbs: [get, patch]
  maxDuration: 30m
  approval: {required: false}
  justification: optional
`;

export interface Credentials extends KeyPairPem {
  readonly user: string;
  readonly serial: string;
}

export interface ApiResult {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  readonly headers: Record<string, string | string[] | undefined>;
}

export class ApiHarness {
  private offsetMs = 0;
  private ids = 0;
  readonly credentials = new Map<string, Credentials>();

  private constructor(
    readonly dir: string,
    readonly store: SqliteStore,
    readonly access: AccessState,
    readonly userCa: KeyPairPem,
    readonly servingCa: KeyPairPem,
    readonly server: RunningApiServer,
  ) {}

  static async start(
    options: {
      policies?: readonly { fileName: string; text: string }[];
      /**
       * What the API server gets instead of the store itself: for tests that make another
       * writer (another replica) change records at a chosen moment. @default the store
       */
      storeForServer?: (store: SqliteStore) => Store;
      /** The audit log the API server reads (/audit). @default none: those routes answer 503 */
      audit?: AuditLog;
      /** Install links' settings (`cluster add`); its servingCaPem is the harness's CA when given as 'harness-ca'. @default none: 501 */
      agentInstall?: Omit<AgentInstallSettings, 'servingCaPem'> & { servingCaPem: string | undefined | 'harness-ca' };
    } = {},
  ): Promise<ApiHarness> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-api-'));
    const store = await SqliteStore.open(path.join(dir, 'kubegate.db'));
    const access = new AccessState(SUFFIX);
    access.setClusters(CLUSTERS);
    const year = { notBefore: new Date(Date.now() - 3_600_000), notAfter: new Date(Date.now() + 365 * 86_400_000) };
    const userCa = createCertificateAuthority({ commonName: 'test user CA', ...year });
    const servingCa = createCertificateAuthority({ commonName: 'test serving CA', ...year });
    const serving = issueCertificate(servingCa, { commonName: 'kubegate API', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'], usage: 'server', ...year });
    const now = Date.now();
    await store.createUser({ name: 'root', groups: [ADMINS_GROUP], now });
    const files = options.policies ?? [
      { fileName: 'access.yaml', text: POLICIES },
      { fileName: 'break-glass.yaml', text: BREAK_GLASS_POLICIES },
    ];
    await store.applyPolicySet({ files, appliedAt: now, appliedBy: 'root', expectedRevision: 0 });
    let harness: ApiHarness | undefined;
    const refresh = async () => {
      const error = access.applyStoreState(await store.loadState(harness ? harness.now() : Date.now()));
      if (error) throw error;
    };
    await refresh();
    const server = await startApiServer({
      tls: serving,
      userCaPem: userCa.certPem,
      store: options.storeForServer ? options.storeForServer(store) : store,
      access: () => access,
      refresh,
      issueKubeconfig: {
        userCa,
        edgeUrl: EDGE_URL,
        edgeCaPem: servingCa.certPem,
        userServerNameSuffix: SUFFIX,
        defaultTtlMs: 8 * 3_600_000,
        maxTtlMs: 24 * 3_600_000,
      },
      clock: () => (harness ? harness.now() : Date.now()),
      newId: () => `id-${++(harness as ApiHarness).ids}`,
      logger: silentLogger,
      ...(options.audit && { audit: options.audit }),
      ...(options.agentInstall && {
        agentInstall: { ...options.agentInstall, servingCaPem: options.agentInstall.servingCaPem === 'harness-ca' ? servingCa.certPem : options.agentInstall.servingCaPem },
      }),
    });
    harness = new ApiHarness(dir, store, access, userCa, servingCa, server);
    return harness;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  async refresh(): Promise<void> {
    const error = this.access.applyStoreState(await this.store.loadState(this.now()));
    if (error) throw error;
  }

  /** Creates the user in the store (bypassing the API) and reloads. */
  async addUser(name: string, groups: readonly string[]): Promise<void> {
    await this.store.createUser({ name, groups, now: this.now() });
    await this.refresh();
  }

  /** A client certificate for `user`, recorded in the store so it can be revoked; cached per user. */
  async cert(user: string): Promise<Credentials> {
    const cached = this.credentials.get(user);
    if (cached) return cached;
    const issued = issueUserCertificate(this.userCa, { user, ttlMs: 3_600_000, now: new Date() });
    if (await this.store.getUser(user)) {
      await this.store.recordCertificate({ serial: issued.serial, user, notBefore: issued.notBefore.getTime(), notAfter: issued.notAfter.getTime(), issuedAt: this.now() });
    }
    const creds = { user, serial: issued.serial, certPem: issued.certPem, keyPem: issued.keyPem };
    this.credentials.set(user, creds);
    return creds;
  }

  url(p: string): string {
    return `${this.server.url}/api/v1${p}`;
  }

  /** A real HTTPS request as `as` (a user name or explicit credentials; null: no certificate). */
  async call(as: string | KeyPairPem | null, method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResult> {
    const creds = as === null ? null : typeof as === 'string' ? await this.cert(as) : as;
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        this.url(p),
        {
          method,
          ca: this.servingCa.certPem,
          ...(creds ? { cert: creds.certPem, key: creds.keyPem } : {}),
          agent: false,
          headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // left as text: tests assert on JSON, so a non-JSON answer fails them visibly
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** A kubeconfig file holding `user`'s certificate and the API's CA, for the CLI. */
  async kubeconfigFor(user: string): Promise<string> {
    const creds = await this.cert(user);
    const file = path.join(this.dir, `${user.replace(/[^A-Za-z0-9.-]/g, '_')}.kubeconfig`);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    fs.writeFileSync(
      file,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'alpha', cluster: { server: `${EDGE_URL}/clusters/alpha`, 'certificate-authority-data': b64(this.servingCa.certPem) } }],
        users: [{ name: `kubegate-${user}`, user: { 'client-certificate-data': b64(creds.certPem), 'client-key-data': b64(creds.keyPem) } }],
        contexts: [{ name: 'alpha', context: { cluster: 'alpha', user: `kubegate-${user}` } }],
        'current-context': 'alpha',
      }),
      { mode: 0o600 },
    );
    return file;
  }

  /** The real CLI's main(), as `user`, against this server; stdout and stderr captured. */
  async cli(user: string | null, args: readonly string[]): Promise<CliResult> {
    const connection = user === null ? [] : ['--server', this.server.url, '--kubeconfig', await this.kubeconfigFor(user)];
    return runCli([...args, ...connection]);
  }

  async close(): Promise<void> {
    await this.server.close();
    await this.store.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
