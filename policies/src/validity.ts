/** When a document is in force: a start, an end and recurring windows in a time zone. */
import { formatPath } from './decode-context';
import { list, oneOf } from './decoders';
import { instant, type Instant } from './instant';
import { object } from './object-decoder';
import { PolicyConflictError, PolicyMissingFieldError } from './policy-errors';
import { timeOfDay, type TimeOfDay } from './time-of-day';
import { timeZone } from './time-zone';

export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * A recurring window of wall-clock time in a time zone, e.g. Monday to Friday 08:00-18:00 in
 * Europe/Berlin. The window opens on each listed day at `start` and closes at `end`; when `end`
 * is earlier than `start` the window runs past midnight into the next day (22:00-06:00).
 */
export interface TimeWindow {
  readonly days: readonly Weekday[];
  readonly start: TimeOfDay;
  readonly end: TimeOfDay;
  readonly timeZone: string;
}

/**
 * When a document is in force: from `notBefore` (inclusive) to `notAfter` (exclusive), and, if
 * windows are given, only while at least one window is open. Absent bounds are open-ended.
 */
export interface Validity {
  readonly notBefore?: Instant;
  readonly notAfter?: Instant;
  readonly windows?: readonly TimeWindow[];
}

const timeWindow = object<TimeWindow>({
  expected: 'a mapping with days, start, end and timeZone',
  schemaName: 'TimeWindow',
  description:
    'A recurring window: on each listed day from start to end, wall-clock time in timeZone. An end earlier than start runs past midnight into the next day; start and end must differ.',
  fields: {
    days: {
      decoder: list(oneOf(WEEKDAYS, { noun: 'day' }), { expected: 'a list of days such as [Mon, Tue, Wed, Thu, Fri]', noun: 'day' }),
      required: true,
      description: 'The days on which the window opens, as Mon, Tue, Wed, Thu, Fri, Sat, Sun.',
      example: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'],
    },
    start: {
      decoder: timeOfDay({ allowEndOfDay: false }),
      required: true,
      description: 'When the window opens, HH:MM on a 24-hour clock (inclusive).',
      example: '08:00',
    },
    end: {
      decoder: timeOfDay({ allowEndOfDay: true }),
      required: true,
      description: 'When the window closes, HH:MM on a 24-hour clock (exclusive); 24:00 is the end of the day.',
      example: '18:00',
    },
    timeZone: {
      decoder: timeZone,
      required: true,
      description:
        'The IANA time zone the times are read in; daylight saving time is followed. Abbreviations such as CET or EST are refused.',
      example: 'Europe/Berlin',
    },
  },
  check(value, at) {
    if (value.start && value.end && value.start.minutes === value.end.minutes) {
      at.report(
        PolicyConflictError,
        ['end'],
        `window ${formatPath(at.path)} starts and ends at ${value.start.text}, so it is never open: for the whole day write start: "00:00" and end: "24:00"`,
      );
    }
  },
});

export const validity = object<Validity>({
  expected: 'a mapping with notBefore, notAfter and/or windows',
  schemaName: 'Validity',
  description:
    'When the document is in force: between notBefore (inclusive) and notAfter (exclusive), and, if windows are given, only while one of them is open. At least one of the three.',
  fields: {
    notBefore: {
      decoder: instant,
      description: 'The document is not in force before this instant. RFC 3339 with Z or an offset.',
      example: '2025-03-01T08:00:00+01:00',
    },
    notAfter: {
      decoder: instant,
      description: 'The document is not in force from this instant on. RFC 3339 with Z or an offset; must be after notBefore.',
      example: '2025-06-30T18:00:00+02:00',
    },
    windows: {
      decoder: list(timeWindow, { expected: 'a list of time windows', noun: 'window' }),
      description: 'Recurring windows; the document is in force only while at least one is open.',
      example: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], start: '08:00', end: '18:00', timeZone: 'Europe/Berlin' }],
    },
  },
  schemaExtras: { minProperties: 1 },
  empty: { ErrorClass: PolicyMissingFieldError, message: (where) => `${where} sets nothing: add notBefore, notAfter or windows, or remove it` },
  check(value, at) {
    if (value.notBefore && value.notAfter && value.notAfter.epochMs <= value.notBefore.epochMs) {
      at.report(
        PolicyConflictError,
        ['notAfter'],
        `notAfter ${value.notAfter.text} at ${formatPath([...at.path, 'notAfter'])} is not after notBefore ${value.notBefore.text}: the document would never be in force`,
      );
    }
  },
});
