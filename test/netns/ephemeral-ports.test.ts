import { parsePortRange, siteEphemeralRange } from '../../dev/netns/ephemeral-ports';

test('the kernel\'s format is read', () => {
  expect(parsePortRange('32768\t60999\n')).toEqual({ low: 32768, high: 60999 });
  expect(parsePortRange('1024 65535')).toEqual({ low: 1024, high: 65535 });
});

test.each(['', '32768', '60999 32768', '0 100', '1 70000', 'a b'])('%j is refused', (text) => {
  expect(() => parsePortRange(text)).toThrow(/not a port range/);
});

test('the site gets the ports above the host\'s range when there is room', () => {
  expect(siteEphemeralRange({ low: 32768, high: 60999 })).toEqual({ low: 61000, high: 65535 });
});

test('none when there is no room above the host\'s range (below it is where servers\' ports are picked)', () => {
  expect(siteEphemeralRange({ low: 40000, high: 65000 })).toBeUndefined();
  expect(siteEphemeralRange({ low: 2048, high: 65000 })).toBeUndefined();
});
