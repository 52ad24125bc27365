/**
 * Why: what `agentInstall` in the controller's configuration starts. The install listener
 * (api/install-server.ts) serves one-time links to `kubectl apply -f`, so it needs a
 * certificate the printed command can verify: one from the hub's serving CA naming the
 * link's host (besides localhost and 127.0.0.1), issued in memory by each replica, renewed a
 * day before it expires. The settings are tried once by rendering a manifest, so a setting the
 * agent's construct would refuse stops the controller at start, not the first `cluster add`.
 */
import { isIP } from 'node:net';
import type { Logger } from '../log/logger';
import type { Store } from '../store/store';
import type { KubegatePki } from '../pki/kubegate-pki';
import { issueCertificate, summarizeCertificate, type KeyPairPem } from '../pki/certificates';
import type { AgentInstallSettings } from '../api/agent-install-settings';
import { renderAgentManifest } from '../api/install-manifest';
import { startInstallServer, type RunningInstallServer } from '../api/install-server';

const LIFETIME_MS = 7 * 24 * 3_600_000;
const RENEW_BEFORE_MS = 24 * 3_600_000;

/** ControllerProps.agentInstall: the `agentInstall` section, with its defaults still open. */
export interface AgentInstallProps {
  /** The hub's agent port as member clusters reach it, HOST:PORT. */
  readonly hubAgentEndpoint: string;
  readonly images: { readonly agent: string; readonly envoy: string };
  readonly allowedClusterRoles: readonly string[];
  /** The install listener's port; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** The links' base URL as clusters' admins reach the listener. @default https://<listen address>:<port> */
  readonly publicUrl?: string;
  /** The certificate at publicUrl is publicly trusted (a TLS front the operator runs): print plain `kubectl apply -f URL`. @default false */
  readonly publiclyTrusted?: boolean;
  /** A link's lifetime when `cluster add` names none. @default 15 min */
  readonly defaultTtlMs?: number;
}

export interface RunningAgentInstall {
  readonly settings: AgentInstallSettings;
  readonly server: RunningInstallServer;
  /** Issues and serves a new certificate when the current one is within a day of expiry. */
  renewIfDue(now: Date): void;
  close(): Promise<void>;
}

function issueServing(pki: KubegatePki, names: readonly string[], now: Date): KeyPairPem {
  return issueCertificate(pki.servingCa, {
    commonName: 'kubegate-install',
    dnsNames: names.filter((n) => !isIP(n)),
    ipAddresses: names.filter((n) => isIP(n) !== 0),
    usage: 'server',
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + LIFETIME_MS),
  });
}

export async function startAgentInstall(props: AgentInstallProps, context: { pki: KubegatePki; store: Store; host?: string; logger: Logger }): Promise<RunningAgentInstall> {
  const host = context.host ?? '127.0.0.1';
  const wildcard = host === '0.0.0.0' || host === '::';
  const publicHost = props.publicUrl ? new URL(props.publicUrl).hostname.replace(/^\[(.*)\]$/, '$1') : undefined;
  const names = [...new Set(['localhost', '127.0.0.1', ...(wildcard ? [] : [host]), ...(publicHost ? [publicHost] : [])])];
  let serving = issueServing(context.pki, names, new Date());
  let settings: AgentInstallSettings = {
    hubAgentEndpoint: props.hubAgentEndpoint,
    hubCaPem: context.pki.internalCa.certPem,
    images: { ...props.images },
    allowedClusterRoles: [...props.allowedClusterRoles],
    publicUrl: props.publicUrl ?? '',
    servingCaPem: props.publiclyTrusted ? undefined : context.pki.servingCa.certPem,
    ...(props.defaultTtlMs ? { defaultTtlMs: props.defaultTtlMs } : {}),
  };
  renderAgentManifest(settings, { cluster: 'settings-check', labels: {} });
  const server = await startInstallServer({ host, port: props.port ?? 0, tls: serving, store: context.store, settings: () => settings, logger: context.logger });
  if (!props.publicUrl) settings = { ...settings, publicUrl: `https://${wildcard ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${server.port}` };
  return {
    get settings() {
      return settings;
    },
    server,
    renewIfDue(now) {
      if (summarizeCertificate(serving.certPem).notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS) return;
      serving = issueServing(context.pki, names, now);
      server.setCertificate(serving);
      context.logger.info('install listener certificate renewed');
    },
    close: () => server.close(),
  };
}
