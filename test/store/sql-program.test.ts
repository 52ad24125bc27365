/**
 * Why: the store's operations are written once as programs that both databases run
 * (control-plane/store/sql-program.ts). The contract suites prove the operations; this proves
 * the small machinery under them: a program gets each statement's result back in order, the
 * synchronous driver finishes within the calling tick (SQLite's transactions rely on it), and
 * placeholders are numbered for PostgreSQL without touching quoted text.
 */
import { count, firstRow, postgresPlaceholders, rows, runAsync, runSync, type Program, type Statement, type StatementResult } from '../../control-plane/store/sql-program';

function* program(): Program<string> {
  const found = yield* rows('SELECT name FROM users WHERE name = ?', ['alice']);
  const first = yield* firstRow('SELECT name FROM users');
  const changed = yield* count('DELETE FROM users WHERE name = ?', ['bob']);
  return `${found.length} ${String(first?.name)} ${changed}`;
}

function answer(statement: Statement): StatementResult {
  return statement.kind === 'count' ? 3 : [{ name: 'alice' }, { name: 'carol' }];
}

test('runSync hands each statement its result, in order, and returns within the calling tick', () => {
  const seen: Statement[] = [];
  const result = runSync(program(), (s) => (seen.push(s), answer(s)));
  expect(result).toBe('2 alice 3');
  expect(seen).toEqual([
    { kind: 'rows', sql: 'SELECT name FROM users WHERE name = ?', params: ['alice'] },
    { kind: 'rows', sql: 'SELECT name FROM users', params: [] },
    { kind: 'count', sql: 'DELETE FROM users WHERE name = ?', params: ['bob'] },
  ]);
});

test('runAsync gives the same answer, awaiting each statement', async () => {
  const seen: string[] = [];
  const result = await runAsync(program(), async (s) => (seen.push(s.sql), answer(s)));
  expect(result).toBe('2 alice 3');
  expect(seen).toHaveLength(3);
});

test('a statement that fails ends the program with its error, and no later statement runs', () => {
  const seen: string[] = [];
  expect(() =>
    runSync(program(), (s) => {
      seen.push(s.sql);
      if (s.sql === 'SELECT name FROM users') throw new Error('disk I/O error');
      return answer(s);
    }),
  ).toThrow('disk I/O error');
  expect(seen).toEqual(['SELECT name FROM users WHERE name = ?', 'SELECT name FROM users']);
});

test('postgresPlaceholders numbers the question marks, leaving those in quoted literals alone', () => {
  expect(postgresPlaceholders('UPDATE t SET a = ?, b = ? WHERE c = ?')).toBe('UPDATE t SET a = $1, b = $2 WHERE c = $3');
  expect(postgresPlaceholders(`SELECT '?' AS q, x FROM t WHERE y = ? AND z = 'a?b'`)).toBe(`SELECT '?' AS q, x FROM t WHERE y = $1 AND z = 'a?b'`);
  expect(postgresPlaceholders('SELECT 1')).toBe('SELECT 1');
});
