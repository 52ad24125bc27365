/**
 * Keeps the in-cluster Envoy's credential toward kube-apiserver fresh: a token of the
 * kubegate-proxy ServiceAccount (which may impersonate only kubegate-users ServiceAccounts),
 * requested through the TokenRequest API and replaced when half its lifetime has passed.
 */
import type { KubeClient } from '../kubernetes/kube-client';
import type { AgentLogger } from '../log/agent-logger';
import { SYSTEM_NAMESPACE } from '../protocol/identities';
import { writeApiserverCredential } from './secret-files';

import { PROXY_SERVICE_ACCOUNT } from '../rbac/rbac-names';
const TOKEN_SECONDS = 3600;
const RETRY_MS = 5000;

export class ProxyCredential {
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly secretsDirectory: string,
    private readonly logger: AgentLogger,
  ) {}

  /** Writes a first token (rejects if the apiserver refuses), then keeps it fresh. */
  async start(): Promise<void> {
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    const token = await this.client.requestServiceAccountToken(SYSTEM_NAMESPACE, PROXY_SERVICE_ACCOUNT, { expirationSeconds: TOKEN_SECONDS });
    writeApiserverCredential(this.secretsDirectory, token.token);
    const halfLife = Math.max(60_000, (token.expiresAt.getTime() - Date.now()) / 2);
    this.logger.info('in-cluster proxy credential written', { expiresAt: token.expiresAt.toISOString() });
    this.schedule(halfLife);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.refresh().catch((err: Error) => {
        this.logger.warn('could not refresh the in-cluster proxy credential; retrying', { error: err.message });
        this.schedule(RETRY_MS);
      });
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
