/**
 * The operator's credential for the admin API, kept usable for as long as the controller runs.
 * It is a user certificate like any other, so it expires (8 h by default); issued only at start,
 * the admin kubeconfig in the state directory and in its Secret would be dead after a quiet
 * day, and so would anything that reads it to act as an administrator (the Pulumi stacks in
 * stacks/ read the Secret on every operation). The controller therefore issues a new one at
 * half the old one's lifetime, and again a minute later when an issuance fails.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IssuedKubeconfig } from '../credentials/kubeconfig-issuer';
import type { Logger } from '../log/logger';

export interface AdminKubeconfigRenewalProps {
  /** Issues the admin's kubeconfig (Controller.issueKubeconfig for ADMIN_USER). */
  readonly issue: () => Promise<IssuedKubeconfig>;
  /** Where the kubeconfig file goes: <stateDir>/admin.kubeconfig. */
  readonly file: string;
  /** Stores it in the admin Secret too, when the controller runs in a pod. @default file only */
  readonly store?: (kubeconfig: string) => Promise<void>;
  readonly logger: Logger;
  /** @default Date.now */
  readonly clock?: () => number;
  /** After a failed issuance. @default 60 s */
  readonly retryMs?: number;
}

/** How long before its end a credential is replaced: half its lifetime, at least a minute. */
export function renewalDelayMs(issuedAt: number, notAfter: number): number {
  return Math.max(60_000, Math.floor((notAfter - issuedAt) / 2));
}

export class AdminKubeconfigRenewal {
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly props: AdminKubeconfigRenewalProps) {}

  /** Issues the first credential now and keeps renewing it until stop(). */
  start(): void {
    void this.renew();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async renew(): Promise<void> {
    const { logger } = this.props;
    const clock = this.props.clock ?? Date.now;
    let next = this.props.retryMs ?? 60_000;
    try {
      const issuedAt = clock();
      const issued = await this.props.issue();
      writeAtomically(this.props.file, issued.kubeconfig);
      logger.info('admin kubeconfig written', { file: this.props.file, edge: issued.edge, notAfter: issued.notAfter.toISOString() });
      if (this.props.store) {
        await this.props.store(issued.kubeconfig);
        logger.info('admin kubeconfig stored in its Secret', { notAfter: issued.notAfter.toISOString() });
      }
      next = renewalDelayMs(issuedAt, issued.notAfter.getTime());
    } catch (err) {
      logger.error('could not renew the admin kubeconfig; trying again', { error: err as Error, retryInMs: next });
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.renew(), next);
    this.timer.unref();
  }
}

function writeAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}
