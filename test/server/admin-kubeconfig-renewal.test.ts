/**
 * The admin kubeconfig is renewed at half its lifetime and retried after a failed issuance, so
 * the file and the Secret never hold an expired credential while the controller runs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdminKubeconfigRenewal, renewalDelayMs } from '../../control-plane/server/admin-kubeconfig-renewal';
import { createLogger } from '../../control-plane/log/logger';
import type { IssuedKubeconfig } from '../../control-plane/credentials/kubeconfig-issuer';

const HOUR = 3_600_000;

test('a credential is replaced at half its lifetime, never sooner than a minute', () => {
  expect(renewalDelayMs(0, 8 * HOUR)).toBe(4 * HOUR);
  expect(renewalDelayMs(1_000, 1_000 + 30_000)).toBe(60_000);
});

describe('AdminKubeconfigRenewal', () => {
  let dir: string;
  let now: number;
  let renewal: AdminKubeconfigRenewal | undefined;
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('test', { level: 'debug', sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });

  beforeEach(() => {
    jest.useFakeTimers();
    now = Date.parse('2026-12-07T00:00:00Z');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-admin-renewal-'));
    lines.length = 0;
  });
  afterEach(() => {
    renewal?.stop();
    jest.useRealTimers();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const issued = (n: number): IssuedKubeconfig => ({
    kubeconfig: `kubeconfig #${n}\n`,
    user: 'admin',
    clusters: [],
    serial: String(n),
    notAfter: new Date(now + 8 * HOUR),
    withoutAccess: true,
    edge: 'confirmed',
  });

  /** Lets the renewal's promise chain run after a timer fired. */
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  test('writes the file and the Secret at start, then again at half the lifetime; stop() ends it', async () => {
    let count = 0;
    const stored: string[] = [];
    const file = path.join(dir, 'state', 'admin.kubeconfig');
    renewal = new AdminKubeconfigRenewal({ issue: async () => issued(++count), file, store: async (k) => void stored.push(k), logger, clock: () => now });
    renewal.start();
    await settle();
    expect(fs.readFileSync(file, 'utf8')).toBe('kubeconfig #1\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(stored).toEqual(['kubeconfig #1\n']);

    now += 4 * HOUR - 1;
    jest.advanceTimersByTime(4 * HOUR - 1);
    await settle();
    expect(count).toBe(1);
    now += 1;
    jest.advanceTimersByTime(1);
    await settle();
    expect(count).toBe(2);
    expect(fs.readFileSync(file, 'utf8')).toBe('kubeconfig #2\n');
    expect(stored).toEqual(['kubeconfig #1\n', 'kubeconfig #2\n']);

    renewal.stop();
    jest.advanceTimersByTime(24 * HOUR);
    await settle();
    expect(count).toBe(2);
  });

  test('a failed issuance is logged and tried again after retryMs, keeping the old file', async () => {
    let count = 0;
    const file = path.join(dir, 'admin.kubeconfig');
    fs.writeFileSync(file, 'old\n');
    renewal = new AdminKubeconfigRenewal({
      issue: async () => {
        count++;
        if (count === 1) throw new Error('store unavailable');
        return issued(count);
      },
      file,
      logger,
      clock: () => now,
      retryMs: 5_000,
    });
    renewal.start();
    await settle();
    expect(fs.readFileSync(file, 'utf8')).toBe('old\n');
    expect(lines.find((l) => l.level === 'error')?.msg).toMatch(/could not renew the admin kubeconfig/);
    jest.advanceTimersByTime(5_000);
    await settle();
    expect(count).toBe(2);
    expect(fs.readFileSync(file, 'utf8')).toBe('kubeconfig #2\n');
  });

  test('a Secret that cannot be written is retried too', async () => {
    let count = 0;
    let fail = true;
    const stored: string[] = [];
    renewal = new AdminKubeconfigRenewal({
      issue: async () => issued(++count),
      file: path.join(dir, 'admin.kubeconfig'),
      store: async (k) => {
        if (fail) throw new Error('forbidden');
        stored.push(k);
      },
      logger,
      clock: () => now,
      retryMs: 1_000,
    });
    renewal.start();
    await settle();
    expect(stored).toEqual([]);
    fail = false;
    jest.advanceTimersByTime(1_000);
    await settle();
    expect(stored).toEqual(['kubeconfig #2\n']);
  });
});
