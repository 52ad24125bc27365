import { DurationError, parseDurationMs } from '../../control-plane/config/duration';

describe('parseDurationMs', () => {
  test.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['8h', 28_800_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['250ms', 250],
  ])('%s', (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  test.each(['', '8', 'h', '-1h', '1.5h', '0s', '8 hours', '1h 30m'])('rejects %j with a message that shows the format', (text) => {
    expect(() => parseDurationMs(text)).toThrow(DurationError);
    expect(() => parseDurationMs(text)).toThrow(/is not a duration: use a number with a unit, e.g. 30s/);
  });
});
