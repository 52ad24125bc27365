/**
 * stack.json in the state directory: what a running local stack looks like from outside, so
 * that other commands (kubegate kubeconfig, kubegate dev down) can find it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface StackDescriptor {
  readonly pid: number;
  readonly edgeUrl: string;
  readonly edgeAdminPort: number;
  readonly controlPlanePort: number;
  /** http://127.0.0.1:<port>/status, /metrics and /healthz of the control plane. */
  readonly controlPlaneStatusUrl: string;
  /**
   * https://<host>:<port> of the control plane's admin API, which the kubegate CLI talks to
   * (users, groups, policies, kubeconfigs, break-glass). Absent when the stack serves none.
   */
  readonly apiUrl?: string;
  /** connection: how the edge reaches the cluster (absent in files from before it was recorded). */
  readonly clusters: readonly { readonly name: string; readonly apiserverUrl: string; readonly connection?: 'direct' | 'tunnel' }[];
  readonly adminKubeconfig: string;
  readonly accessLog: string;
  readonly startedAt: string;
}

export class StackNotRunningError extends Error {
  readonly code = 'ERR_STACK_NOT_RUNNING';
  constructor(stateDir: string) {
    super(`no local stack found in ${stateDir}: start one with 'kubegate dev up --state-dir ${stateDir}'`);
    this.name = 'StackNotRunningError';
  }
}

const file = (stateDir: string) => path.join(stateDir, 'stack.json');

export function writeStackDescriptor(stateDir: string, d: StackDescriptor): void {
  fs.writeFileSync(file(stateDir) + '.tmp', JSON.stringify(d, null, 2));
  fs.renameSync(file(stateDir) + '.tmp', file(stateDir));
}

export function readStackDescriptor(stateDir: string): StackDescriptor {
  if (!fs.existsSync(file(stateDir))) throw new StackNotRunningError(stateDir);
  return JSON.parse(fs.readFileSync(file(stateDir), 'utf8')) as StackDescriptor;
}

export function removeStackDescriptor(stateDir: string): void {
  fs.rmSync(file(stateDir), { force: true });
}

/** Whether the process that wrote the descriptor is still alive. */
export function isStackProcessAlive(d: StackDescriptor): boolean {
  try {
    process.kill(d.pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.KUBEGATE_STATE_DIR ?? '.state');
}
