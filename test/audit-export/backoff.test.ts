import { backoffDelayMs } from '../../control-plane/audit-export/backoff';

describe('backoffDelayMs', () => {
  const policy = { initialMs: 100, maxMs: 5000 };

  test('doubles per attempt, jittered between half and all of the step, never above the maximum', () => {
    expect([0, 1, 2, 3].map((a) => backoffDelayMs(policy, a, () => 0))).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map((a) => backoffDelayMs(policy, a, () => 1))).toEqual([100, 200, 400, 800]);
    expect(backoffDelayMs(policy, 10, () => 1)).toBe(5000);
    expect(backoffDelayMs(policy, 10_000, () => 0)).toBe(2500);
  });

  test("a sink's Retry-After lengthens the wait up to the maximum, never shortens it", () => {
    expect(backoffDelayMs(policy, 0, () => 0, 3000)).toBe(3000);
    expect(backoffDelayMs(policy, 0, () => 0, 60_000)).toBe(5000);
    expect(backoffDelayMs(policy, 3, () => 1, 0)).toBe(800);
  });
});
