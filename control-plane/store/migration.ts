/**
 * What a migration is, on its own so that the migration files and the list of them
 * (schema.ts) share it without importing each other.
 */
export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: Readonly<Record<Dialect, string>>;
}
