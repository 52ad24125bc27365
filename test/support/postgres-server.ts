/** The harness's throwaway PostgreSQL (dev/postgres/postgres-server.ts), where the tests and bench/durable-postgres.ts have always found it. */
export * from '../../dev/postgres/postgres-server';
