/**
 * When documents are in force: notBefore (inclusive), notAfter (exclusive), recurring windows in
 * IANA zones (past midnight, 24:00, across DST changes), and the validUntil that follows.
 */
import type { PolicyEngine } from '../../control-plane/policy-engine/policy-engine';
import { ValiditySchedule } from '../../control-plane/policy-engine/validity-clock';
import { allowed, at, context, engine, FOREVER, refused, request } from './engine-fixtures';

const policy = (name: string, validity: string) => `
  kind: AccessPolicy
  metadata: {name: ${name}}
  spec:
    subjects: {users: [${name}]}
    clusters: {names: [prod]}
    rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
    validity:
${validity
  .trim()
  .split('\n')
  .map((l) => `      ${l.trim()}`)
  .join('\n')}
`;

const e = engine(
  [
    policy('contract', 'notBefore: 2025-07-01T00:00:00+02:00\nnotAfter: 2025-07-31T18:00:00+02:00'),
    policy('office', 'windows: [{days: [Mon, Tue, Wed, Thu, Fri], start: "08:00", end: "18:00", timeZone: Europe/Berlin}]'),
    policy('night', 'windows: [{days: [Sat], start: "22:00", end: "06:00", timeZone: Europe/Berlin}]'),
    policy('late', 'windows: [{days: [Wed], start: "20:00", end: "24:00", timeZone: America/New_York}]'),
    policy('sunday', 'windows: [{days: [Sun], start: "00:00", end: "24:00", timeZone: Asia/Tokyo}]'),
    policy('small-hours', 'windows: [{days: [Sun], start: "02:30", end: "05:00", timeZone: Europe/Berlin}]'),
    policy('until-three', 'windows: [{days: [Sun], start: "00:00", end: "03:00", timeZone: Europe/Berlin}]'),
    policy(
      'two-zones',
      'windows: [{days: [Mon], start: "09:00", end: "10:00", timeZone: Europe/Berlin}, {days: [Mon], start: "09:00", end: "10:00", timeZone: America/New_York}]',
    ),
    policy(
      'bounded-office',
      'notBefore: 2025-06-02T12:00:00+02:00\nnotAfter: 2025-06-03T12:00:00+02:00\nwindows: [{days: [Mon, Tue], start: "08:00", end: "18:00", timeZone: Europe/Berlin}]',
    ),
  ].join('---\n'),
);

const decide = (engineUnderTest: PolicyEngine, user: string, iso: string | number) =>
  engineUnderTest.evaluate(request('GET', '/api/v1/namespaces/a/pods', { user }), context(typeof iso === 'number' ? iso : at(iso)));

type Step = [instant: string, inForce: boolean, validUntil?: string | 'forever'];

/** Each step: is the policy in force at the instant, and (if given) exactly until when. */
function expectSteps(user: string, steps: readonly Step[]): void {
  for (const [instant, inForce, until] of steps) {
    const decision = decide(e, user, instant);
    expect({ instant, allowed: decision.allowed }).toEqual({ instant, allowed: inForce });
    if (!decision.allowed) expect(decision.code).toBe('no-policy');
    if (until !== undefined) expect({ instant, validUntil: decision.validUntil }).toEqual({ instant, validUntil: until === 'forever' ? FOREVER : at(until) });
    expect(decision.validUntil).toBeGreaterThan(at(instant));
  }
}

describe('notBefore and notAfter', () => {
  test('in force from notBefore inclusive to notAfter exclusive', () => {
    expectSteps('contract', [
      ['2025-06-30T21:59:59.999Z', false, '2025-06-30T22:00:00.000Z'],
      ['2025-06-30T22:00:00.000Z', true, '2025-07-31T16:00:00.000Z'],
      ['2025-07-15T12:00:00.000Z', true, '2025-07-31T16:00:00.000Z'],
      ['2025-07-31T15:59:59.999Z', true, '2025-07-31T16:00:00.000Z'],
      ['2025-07-31T16:00:00.000Z', false, 'forever'],
      ['2026-01-01T00:00:00.000Z', false, 'forever'],
    ]);
  });

  test('bounds and windows together: both must hold', () => {
    expectSteps('bounded-office', [
      ['2025-06-02T09:59:59.999Z', false, '2025-06-02T10:00:00.000Z'], // Mon 11:59 CEST, window open, not yet notBefore
      ['2025-06-02T10:00:00.000Z', true, '2025-06-02T16:00:00.000Z'],
      ['2025-06-03T06:00:00.000Z', true, '2025-06-03T10:00:00.000Z'], // Tue 08:00, ends at notAfter
      ['2025-06-03T10:00:00.000Z', false, 'forever'],
    ]);
  });
});

describe('windows', () => {
  test('business hours open at start (inclusive) and close at end (exclusive), weekdays only', () => {
    expectSteps('office', [
      ['2025-06-02T05:59:59.999Z', false], // Mon 07:59:59.999 CEST
      ['2025-06-02T06:00:00.000Z', true, '2025-06-02T16:00:00.000Z'],
      ['2025-06-02T15:59:59.999Z', true, '2025-06-02T16:00:00.000Z'],
      ['2025-06-02T16:00:00.000Z', false],
      ['2025-06-07T10:00:00.000Z', false], // Saturday
      ['2025-06-08T10:00:00.000Z', false], // Sunday
      ['2025-06-06T15:00:00.000Z', true, '2025-06-06T16:00:00.000Z'], // Friday
    ]);
  });

  test('a window past midnight belongs to the day it opens', () => {
    expectSteps('night', [
      ['2025-06-07T19:59:59.999Z', false], // Sat 21:59:59 CEST
      ['2025-06-07T20:00:00.000Z', true], // Sat 22:00
      ['2025-06-07T21:59:59.999Z', true], // Sat 23:59:59
      ['2025-06-07T22:00:00.000Z', true, '2025-06-08T04:00:00.000Z'], // Sun 00:00, still Saturday's window
      ['2025-06-08T03:59:59.999Z', true, '2025-06-08T04:00:00.000Z'], // Sun 05:59:59
      ['2025-06-08T04:00:00.000Z', false], // Sun 06:00
      ['2025-06-06T23:00:00.000Z', false], // Sat 01:00: Friday's night is not listed
      ['2025-06-08T20:00:00.000Z', false], // Sun 22:00
    ]);
  });

  test('24:00 closes at the end of the day', () => {
    expectSteps('late', [
      ['2025-06-04T23:59:59.999Z', false], // Wed 19:59:59 EDT
      ['2025-06-05T00:00:00.000Z', true, '2025-06-05T04:00:00.000Z'], // Wed 20:00
      ['2025-06-05T03:59:59.999Z', true, '2025-06-05T04:00:00.000Z'], // Wed 23:59:59
      ['2025-06-05T04:00:00.000Z', false], // Thu 00:00
    ]);
    expectSteps('sunday', [
      ['2025-06-07T14:59:59.999Z', false], // Sat 23:59:59 JST
      ['2025-06-07T15:00:00.000Z', true, '2025-06-08T15:00:00.000Z'], // Sun 00:00 JST, open all day
      ['2025-06-08T14:59:59.999Z', true],
      ['2025-06-08T15:00:00.000Z', false], // Mon 00:00 JST
    ]);
  });

  test('any open window puts the document in force, whatever its zone', () => {
    expectSteps('two-zones', [
      ['2025-06-02T07:00:00.000Z', true], // 09:00 Berlin
      ['2025-06-02T08:00:00.000Z', false], // 10:00 Berlin, 04:00 New York
      ['2025-06-02T13:00:00.000Z', true], // 09:00 New York
      ['2025-06-02T13:59:59.999Z', true],
      ['2025-06-02T14:00:00.000Z', false],
    ]);
  });
});

describe('daylight saving time (Europe/Berlin: last Sunday of March and of October)', () => {
  test('business hours follow the wall clock across the spring change', () => {
    expectSteps('office', [
      ['2025-03-28T06:30:00.000Z', false], // Fri 07:30 CET
      ['2025-03-28T07:00:00.000Z', true, '2025-03-28T17:00:00.000Z'], // Fri 08:00 CET .. 18:00 CET
      ['2025-03-31T05:59:59.999Z', false], // Mon 07:59:59 CEST
      ['2025-03-31T06:00:00.000Z', true, '2025-03-31T16:00:00.000Z'], // Mon 08:00 CEST .. 18:00 CEST
    ]);
  });

  test('business hours follow the wall clock across the autumn change', () => {
    expectSteps('office', [
      ['2025-10-24T06:00:00.000Z', true, '2025-10-24T16:00:00.000Z'], // Fri 08:00 CEST
      ['2025-10-27T06:59:59.999Z', false], // Mon 07:59:59 CET
      ['2025-10-27T07:00:00.000Z', true, '2025-10-27T17:00:00.000Z'], // Mon 08:00 CET
    ]);
  });

  test('a window starting in the skipped hour opens when the clock jumps past its start', () => {
    // 2025-03-30: 02:00 CET becomes 03:00 CEST at 01:00Z; 02:30 never happens.
    expectSteps('small-hours', [
      ['2025-03-30T00:30:00.000Z', false, '2025-03-30T01:00:00.000Z'], // 01:30 CET: next change is the jump
      ['2025-03-30T00:59:59.999Z', false, '2025-03-30T01:00:00.000Z'],
      ['2025-03-30T01:00:00.000Z', true, '2025-03-30T03:00:00.000Z'], // 03:00 CEST .. 05:00 CEST
      ['2025-03-30T02:59:59.999Z', true],
      ['2025-03-30T03:00:00.000Z', false],
    ]);
  });

  test('a window ending in the repeated hour closes at its end on the wall clock', () => {
    // 2025-10-26: 03:00 CEST becomes 02:00 CET at 01:00Z; 00:00-03:00 lasts four hours.
    expectSteps('until-three', [
      ['2025-10-25T21:59:59.999Z', false], // Sat 23:59:59 CEST
      ['2025-10-25T22:00:00.000Z', true], // Sun 00:00 CEST
      ['2025-10-26T00:30:00.000Z', true, '2025-10-26T01:00:00.000Z'], // 02:30 CEST: the clock goes back at 01:00Z
      ['2025-10-26T01:00:00.000Z', true, '2025-10-26T02:00:00.000Z'], // 02:00 CET
      ['2025-10-26T01:59:59.999Z', true],
      ['2025-10-26T02:00:00.000Z', false], // 03:00 CET
    ]);
  });

  test('following validUntil from a refusal reaches the opening instant, never past it', () => {
    for (const [user, from, opening] of [
      ['office', '2025-06-06T18:00:00Z', '2025-06-09T06:00:00.000Z'], // Friday evening to Monday 08:00 CEST
      ['office', '2025-03-28T18:00:00Z', '2025-03-31T06:00:00.000Z'], // across the spring change
      ['office', '2025-10-24T18:00:00Z', '2025-10-27T07:00:00.000Z'], // across the autumn change
      ['small-hours', '2025-03-28T12:00:00Z', '2025-03-30T01:00:00.000Z'],
      ['night', '2025-06-02T12:00:00Z', '2025-06-07T20:00:00.000Z'],
      ['contract', '2025-06-01T00:00:00Z', '2025-06-30T22:00:00.000Z'],
    ] as const) {
      let t = at(from);
      for (let steps = 0; steps < 50; steps++) {
        const decision = decide(e, user, t);
        if (decision.allowed) break;
        expect(decide(e, user, decision.validUntil - 1).allowed).toBe(false);
        t = decision.validUntil;
      }
      expect({ user, firstAllowed: new Date(t).toISOString() }).toEqual({ user, firstAllowed: opening });
    }
  });
});

describe('windows against an independent reading of the wall clock', () => {
  /** The same question answered with toLocaleString's weekday name and hour, not the engine's arithmetic. */
  function oracleOpen(epochMs: number, timeZone: string, days: readonly string[], start: number, end: number): boolean {
    const parts = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(epochMs);
    const get = (type: string) => parts.find((p) => p.type === type)!.value;
    const day = get('weekday');
    const minutes = Number(get('hour')) * 60 + Number(get('minute'));
    const order = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
    const previous = order[(order.indexOf(day) + 6) % 7]!;
    if (start < end) return days.includes(day) && minutes >= start && minutes < end;
    return (days.includes(day) && minutes >= start) || (days.includes(previous) && minutes < end);
  }

  const windows = [
    { days: ['Mon', 'Wed', 'Fri'], start: 8 * 60, end: 17 * 60 + 30, timeZone: 'Europe/Berlin' },
    { days: ['Sat', 'Sun'], start: 22 * 60, end: 2 * 60 + 30, timeZone: 'America/New_York' },
    { days: ['Tue'], start: 0, end: 24 * 60, timeZone: 'Australia/Sydney' },
    { days: ['Thu'], start: 1 * 60 + 30, end: 3 * 60, timeZone: 'Europe/London' },
  ];

  test.each(windows)('$days $start-$end in $timeZone, sampled over a year', (w) => {
    const schedule = new ValiditySchedule({
      windows: [
        {
          days: w.days as never,
          start: { text: '', minutes: w.start },
          end: { text: '', minutes: w.end },
          timeZone: w.timeZone,
        },
      ],
    });
    // Deterministic samples: every 7h 13m 17s over 2025, plus each answer's last instant.
    const step = ((7 * 60 + 13) * 60 + 17) * 1000;
    let checked = 0;
    for (let t = at('2025-01-01T00:00:00Z'); t < at('2026-01-01T00:00:00Z'); t += step) {
      const state = schedule.state(t);
      expect({ t: new Date(t).toISOString(), open: state.inForce }).toEqual({ t: new Date(t).toISOString(), open: oracleOpen(t, w.timeZone, w.days, w.start, w.end) });
      expect(state.until).toBeGreaterThan(t);
      // The answer stands until `until`: the instant before it gives the same answer.
      const last = state.until - 1;
      expect({ last: new Date(last).toISOString(), open: oracleOpen(last, w.timeZone, w.days, w.start, w.end) }).toEqual({
        last: new Date(last).toISOString(),
        open: state.inForce,
      });
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

describe('validUntil of decisions under time-bound policies', () => {
  test('an allowance under a window lasts until the window closes; a refusal until something could open', () => {
    const open = allowed(decide(e, 'office', '2025-06-03T09:00:00Z'));
    expect(open.validUntil).toBe(at('2025-06-03T16:00:00Z'));
    const closed = refused(decide(e, 'office', '2025-06-03T17:00:00Z'));
    expect(closed.validUntil).toBeGreaterThan(at('2025-06-03T17:00:00Z'));
    expect(closed.validUntil).toBeLessThanOrEqual(at('2025-06-04T06:00:00Z'));
  });
});

describe('ValiditySchedule answers any time, in any order', () => {
  test('a later question does not stick when an earlier time is asked next', () => {
    const schedule = new ValiditySchedule({
      windows: [{ days: ['Mon'], start: { text: '08:00', minutes: 480 }, end: { text: '09:00', minutes: 540 }, timeZone: 'UTC' }],
    });
    expect(schedule.state(at('2025-06-02T08:30:00Z'))).toEqual({ inForce: true, until: at('2025-06-02T09:00:00Z') });
    expect(schedule.state(at('2025-06-02T07:30:00Z'))).toEqual({ inForce: false, until: at('2025-06-02T08:00:00Z') });
    expect(schedule.state(at('2025-06-02T08:59:59Z')).inForce).toBe(true);
    expect(schedule.state(at('2025-06-02T09:00:00Z')).inForce).toBe(false);
  });
});
