/**
 * Runs a real Envoy with a bootstrap file and waits until it has taken its configuration from
 * the control plane: admin /ready answers LIVE only once the listeners and clusters that
 * arrived over ADS (and the secrets they need over SDS) are warm.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ManagedProcess, ProcessExit } from './managed-process';
import { HOST_PLACEMENT, type ProcessPlacement } from './process-placement';
import { BinaryMissingError } from './errors';
import type { Logger } from '../../control-plane/log/logger';

export interface EnvoyProcessProps {
  /** Path to the envoy binary (from the toolchain). */
  readonly binary: string;
  /** Written to <workDir>/bootstrap.json. */
  readonly bootstrap: object;
  readonly adminPort: number;
  readonly workDir: string;
  readonly logger: Logger;
  /** Name in logs and errors. @default 'envoy' */
  readonly component?: string;
  /** @default 'info' */
  readonly logLevel?: string;
  /** @default 30000 */
  readonly readyTimeoutMs?: number;
  /** How long a drained connection (revoked user) may linger before Envoy closes it. @default 1 */
  readonly drainTimeSeconds?: number;
  /** Where Envoy runs and its admin interface is read from (a firewalled site, say). @default HOST_PLACEMENT */
  readonly placement?: ProcessPlacement;
}

export class EnvoyProcess {
  private constructor(
    private readonly proc: ManagedProcess,
    readonly adminUrl: string,
    private readonly placement: ProcessPlacement,
  ) {}

  static async start(props: EnvoyProcessProps): Promise<EnvoyProcess> {
    if (!fs.existsSync(props.binary)) throw new BinaryMissingError('envoy', props.binary);
    fs.mkdirSync(props.workDir, { recursive: true });
    const bootstrapFile = path.join(props.workDir, 'bootstrap.json');
    fs.writeFileSync(bootstrapFile, JSON.stringify(props.bootstrap, null, 2));
    const component = props.component ?? 'envoy';
    const adminUrl = `http://127.0.0.1:${props.adminPort}`;
    const args = [
      '-c', bootstrapFile,
      // Several Envoys share one machine in tests; hot restart would make them fight over
      // one shared-memory region, and kubegate changes config over xDS, not by restarting.
      '--disable-hot-restart',
      // When a user's filter chain changes (revocation, lost access), Envoy drains that
      // chain's connections for the drain time and then closes them: a long-lived watch or
      // exec must end within seconds, not the default ten minutes. Immediate: every draining
      // connection is told at once (GOAWAY / Connection: close), not spread over the period.
      '--drain-time-s', String(props.drainTimeSeconds ?? 1),
      '--drain-strategy', 'immediate',
      // File access logs (the edge's audit log) reach the disk within a second, not ten.
      '--file-flush-interval-msec', '1000',
      '--log-level', props.logLevel ?? 'info',
      '--log-format', '{"ts":"%Y-%m-%dT%T.%eZ","level":"%l","component":"envoy","logger":"%n","msg":"%j"}',
    ];
    const placement = props.placement ?? HOST_PLACEMENT;
    const proc = await placement.startReady(
      { component, binary: props.binary, args, logFile: path.join(props.workDir, `${component}.log`), logger: props.logger },
      {
        url: `${adminUrl}/ready`,
        timeoutMs: props.readyTimeoutMs ?? 30_000,
        check: async () => {
          const r = await adminGet(placement, adminUrl, '/ready');
          return r.body.trim() === 'LIVE' ? null : `server state ${r.body.trim() || r.status}`;
        },
      },
    );
    return new EnvoyProcess(proc, adminUrl, placement);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Resolves when Envoy has ended, for whatever reason (crash tests kill it). */
  get exited(): Promise<ProcessExit> {
    return this.proc.exited;
  }

  get logFile(): string {
    return this.proc.logFile;
  }

  /** GET on the admin interface (stats, config_dump, ...). */
  admin(pathAndQuery: string): Promise<{ status: number; body: string }> {
    return adminGet(this.placement, this.adminUrl, pathAndQuery);
  }

  /** POST on the admin interface (reopen_logs, drain_listeners, ...). */
  adminPost(pathAndQuery: string): Promise<{ status: number; body: string }> {
    return this.placement.request(this.adminUrl + pathAndQuery, { method: 'POST', timeoutMs: 5000 });
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }
}

function adminGet(placement: ProcessPlacement, base: string, pathAndQuery: string): Promise<{ status: number; body: string }> {
  return placement.request(base + pathAndQuery, { timeoutMs: 2000 });
}
