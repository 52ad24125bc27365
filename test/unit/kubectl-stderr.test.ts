/**
 * Why: the e2e tests let through exactly one line of kubectl's stderr (client-go's drop of
 * kube-apiserver's empty first WebSocket frame, test/support/kubectl-stderr.ts); this pins how
 * narrow that is, with the line as kubectl 1.32.4 printed it straight to kube-apiserver.
 */
import { stderrBesidesClientStreamRace } from '../support/kubectl-stderr';

const DROPPED = 'E1207 02:32:33.960198    3901 websocket.go:296] Unknown stream id 1, discarding message\n';

describe('stderrBesidesClientStreamRace', () => {
  test('takes the line out for kubectl before 1.34', () => {
    expect(stderrBesidesClientStreamRace(DROPPED, 32)).toBe('');
    expect(stderrBesidesClientStreamRace(DROPPED, 33)).toBe('');
  });

  test('leaves it for kubectl 1.34 and later, whose client-go has no such race', () => {
    expect(stderrBesidesClientStreamRace(DROPPED, 34)).toBe(DROPPED);
  });

  test('takes out one such line only: a second one means a frame after the empty one was dropped', () => {
    expect(stderrBesidesClientStreamRace(DROPPED + DROPPED, 32)).toBe(DROPPED);
  });

  test('leaves every other line', () => {
    const otherStream = DROPPED.replace('stream id 1', 'stream id 2');
    const otherError = 'E1207 02:33:38.507218    5188 memcache.go:265] "Unhandled Error" err="couldn\'t get current server API group list"\n';
    expect(stderrBesidesClientStreamRace(otherStream, 32)).toBe(otherStream);
    expect(stderrBesidesClientStreamRace(otherError + DROPPED, 32)).toBe(otherError);
    expect(stderrBesidesClientStreamRace('error: unable to upgrade connection\n', 32)).toBe('error: unable to upgrade connection\n');
  });
});
