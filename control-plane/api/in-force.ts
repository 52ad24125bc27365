/**
 * After a mutation the API answers only once the control plane has reloaded, so "200" means
 * "in force at the edge", not merely "written down". If the reload fails the change is stored
 * but unconfirmed: the caller is told exactly that, never a plain success.
 */
import type { ApiDeps } from './api-deps';
import { ApiError } from './api-errors';

export async function putInForce(deps: ApiDeps, what: string): Promise<void> {
  try {
    await deps.refresh();
  } catch (err) {
    deps.logger.error('a change was stored but the control plane could not reload it', { change: what, error: err as Error });
    throw new ApiError(500, 'ERR_NOT_CONFIRMED', `${what} was stored, but the control plane could not reload it, so it may not be in force yet; see the control plane log`);
  }
}
