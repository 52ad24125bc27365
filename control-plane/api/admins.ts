/**
 * Who administers kubegate: members of one group, kept in kubegate's own records like any
 * other membership. A group rather than a flag on the user so that the same group can be bound
 * to cluster-admin in clusters and named in policies, and so that "who are the admins" is one
 * query over users.
 */
import type { UserRecord } from '../store/store';
import { conflict } from './api-errors';

export const ADMINS_GROUP = 'kubegate:admins';

export function isAdmin(groups: readonly string[]): boolean {
  return groups.includes(ADMINS_GROUP);
}

/**
 * Refuses a change after which no enabled user administers kubegate: nobody could then create
 * users, fix policies or issue kubeconfigs through the API. `after` is the user list as it
 * would be once the change is made. (Two administrators removing each other at the same
 * moment can still race past this check; it guards against the common mistake, not malice.)
 */
export function assertAdminRemains(after: readonly UserRecord[], what: string): void {
  const admins = after.filter((u) => !u.disabled && isAdmin(u.groups));
  if (admins.length === 0) {
    throw conflict(`${what} would leave no enabled member of ${ADMINS_GROUP}, and nobody could administer kubegate; add another administrator first`);
  }
}
