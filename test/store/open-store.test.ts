/**
 * openStore: which URL opens which store, and how every way of failing to open one is
 * reported. Nothing here needs a database server: an unreachable PostgreSQL is a free port
 * nobody listens on.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getFreePort } from '../../dev/process/free-port';
import { openStore } from '../../control-plane/store/open-store';
import { redactUrl } from '../../control-plane/store/redact-url';
import { StoreUnavailableError } from '../../control-plane/store/store';
import { rejection, T0 } from './store-contract';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-open-store-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function unavailable(url: string): Promise<string> {
  const err = await rejection(openStore(url, { cwd: dir, connectTimeoutMs: 5000 }));
  expect(err).toBeInstanceOf(StoreUnavailableError);
  expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
  return err.message;
}

describe('openStore', () => {
  test('sqlite:<relative path> is a SQLite file under the working directory', async () => {
    fs.mkdirSync(path.join(dir, 'data'));
    const store = await openStore('sqlite:data/kubegate.db', { cwd: dir });
    try {
      expect(store.kind).toBe('sqlite');
      await store.createUser({ name: 'alice', groups: [], now: T0 });
      expect(fs.statSync(path.join(dir, 'data', 'kubegate.db')).size).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  test('a plain path and sqlite:<absolute path> open the same SQLite file', async () => {
    fs.mkdirSync(path.join(dir, 'data'));
    const file = path.join(dir, 'data', 'kubegate.db');
    const byPath = await openStore('data/kubegate.db', { cwd: dir });
    await byPath.createUser({ name: 'alice', groups: [], now: T0 });
    await byPath.close();
    const byUrl = await openStore(`sqlite:${file}`);
    try {
      expect(byUrl.kind).toBe('sqlite');
      expect(await byUrl.getUser('alice')).toMatchObject({ name: 'alice' });
    } finally {
      await byUrl.close();
    }
  });

  test('a SQLite file that cannot be opened is unavailable, naming the file and why', async () => {
    expect(await unavailable('sqlite:missing-dir/kubegate.db')).toMatch(
      new RegExp(`^cannot open SQLite store ${escape(path.join(dir, 'missing-dir', 'kubegate.db'))}: .*directory does not exist`),
    );
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'these are not the tables you are looking for\n'.repeat(200));
    expect(await unavailable('notes.txt')).toBe(`cannot open SQLite store ${path.join(dir, 'notes.txt')}: file is not a database`);
    expect(await unavailable(`sqlite:${dir}`)).toMatch(new RegExp(`^cannot open SQLite store ${escape(dir)}: `));
  });

  test('empty URLs, URLs without a file and other schemes are refused, saying what is accepted', async () => {
    const usage = 'use sqlite:<path>, a file path, or postgres://user:password@host:port/database';
    expect(await unavailable('')).toBe(`store URL is empty: ${usage}`);
    expect(await unavailable('sqlite:')).toBe(`store URL sqlite: names no file: ${usage}`);
    expect(await unavailable('mysql://kg:hunter2@db/kubegate')).toBe(`store URL mysql://kg:***@db/kubegate has an unsupported scheme: ${usage}`);
  });

  test('a malformed PostgreSQL URL is refused with its password masked', async () => {
    const message = await unavailable('postgres://kg:hunter2@db:notaport/kubegate');
    expect(message).toBe('invalid PostgreSQL URL postgres://kg:***@db:notaport/kubegate: expected postgres://user:password@host:port/database');
  });

  test('an unreachable PostgreSQL server is unavailable, naming the URL with the password masked', async () => {
    const port = await getFreePort();
    const message = await unavailable(`postgres://kg:hunter2@127.0.0.1:${port}/kubegate`);
    expect(message).toBe(`cannot open PostgreSQL store postgres://kg:***@127.0.0.1:${port}/kubegate: connect ECONNREFUSED 127.0.0.1:${port}`);
    const viaQuery = await unavailable(`postgresql://kg@127.0.0.1:${port}/kubegate?password=hunter2&sslmode=disable`);
    expect(viaQuery).toContain(`postgresql://kg@127.0.0.1:${port}/kubegate?password=***&sslmode=disable`);
    expect(viaQuery).not.toContain('hunter2');
  });
});

describe('redactUrl', () => {
  test('masks passwords in the user info and the query, and leaves URLs without one alone', () => {
    expect(redactUrl('postgres://u:p%40ss@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(redactUrl('postgres://u:pass@h/db?application_name=x&password=pass')).toBe('postgres://u:***@h/db?application_name=x&password=***');
    expect(redactUrl('postgres://u@h/db')).toBe('postgres://u@h/db');
    expect(redactUrl('postgres://u:p@ss@h/db')).toBe('postgres://u:***@h/db');
    expect(redactUrl('postgres://h:5432/db')).toBe('postgres://h:5432/db');
    expect(redactUrl('sqlite:/var/lib/kubegate/store.db')).toBe('sqlite:/var/lib/kubegate/store.db');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
