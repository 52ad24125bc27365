/**
 * One PostgreSQL transaction on a pooled connection, for the store and the audit log alike:
 * rolled back when `fn` throws, and a connection that broke mid-way is destroyed rather than
 * handed back to the pool for the next caller to trip over.
 */
import type { Pool, PoolClient } from 'pg';
import { isConnectionError } from './postgres-errors';

export async function runPgTransaction<T>(pool: Pool, begin: string, fn: (client: PoolClient) => Promise<T>, translate: (err: unknown) => unknown): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw translate(err);
  }
  let broken: Error | undefined;
  try {
    await client.query(begin);
    let result: T;
    try {
      result = await fn(client);
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
      throw err;
    }
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (isConnectionError(err)) broken = err as Error;
    throw translate(err);
  } finally {
    client.release(broken);
  }
}
