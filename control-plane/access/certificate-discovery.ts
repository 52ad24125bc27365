/**
 * Finds, in the store, the certificates of users the access state knows no live one for.
 *
 * The store's state (loadState) names revoked serials but not issued certificates, so a
 * certificate issued by another replica, or recorded straight into the store, is only seen by
 * asking for the user's certificates. Users already known to hold a live certificate are not
 * asked about: another certificate of theirs changes nothing until the known ones expire, and
 * then they are asked about again (they hold none known any more).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Store } from '../store/store';
import type { AccessState } from './access-state';

/** Store round trips in flight at once: PostgreSQL answers them in parallel, SQLite does not mind. */
const CONCURRENCY = 8;
/**
 * SQLite answers without ever leaving the event loop; after this many users the loop gets a
 * turn, so an xDS push or an authorization check is not held up by thousands of reads.
 */
const USERS_PER_TURN = 250;

/**
 * Reads the certificates of `users` and adds the live ones to `access`. Returns the users
 * among them who hold a live certificate afterwards.
 */
export async function discoverCertificates(store: Pick<Store, 'listCertificates'>, access: AccessState, users: readonly string[], now: number): Promise<string[]> {
  const found: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const user = users[next++]!;
      access.noteCertificates(await store.listCertificates(user), now);
      if (access.certificateNotAfter(user, now) !== undefined) found.push(user);
      if (next % USERS_PER_TURN === 0) await nextTurn();
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, users.length) }, worker));
  return found.sort();
}

/** Enabled users without a live certificate the access state knows of: whom to ask about. */
export function usersWithoutKnownCertificate(access: AccessState, now: number): string[] {
  return access
    .allUsers()
    .filter((u) => !u.disabled && access.certificateNotAfter(u.name, now) === undefined)
    .map((u) => u.name);
}
