import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readLogTail } from '../../dev/process/log-tail';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-log-tail-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('returns the last lines of a log larger than the part it reads, without a partial first line', () => {
  const file = path.join(dir, 'big.log');
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const tail = readLogTail(file, 20).split('\n');
  expect(tail).toEqual(lines.slice(-20));
});

test('returns every line of a short log', () => {
  const file = path.join(dir, 'short.log');
  fs.writeFileSync(file, 'a\nb\n');
  expect(readLogTail(file)).toBe('a\nb');
});

test('returns an empty string for a log that does not exist, instead of throwing', () => {
  expect(readLogTail(path.join(dir, 'missing.log'))).toBe('');
});
