/** Wall-clock times in a window: HH:MM on a 24-hour clock; 24:00 is allowed as an end. */
import { formatPath } from './decode-context';
import type { Decoder } from './decoder';
import { string } from './decoders';
import { PolicyBadTimeError } from './policy-errors';

export interface TimeOfDay {
  /** As written: `08:00`. */
  readonly text: string;
  /** Minutes since midnight, 0 to 1440 (24:00). */
  readonly minutes: number;
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function timeOfDay(options: { readonly allowEndOfDay: boolean }): Decoder<TimeOfDay> {
  const pattern = options.allowEndOfDay ? '^(([01]\\d|2[0-3]):[0-5]\\d|24:00)$' : '^([01]\\d|2[0-3]):[0-5]\\d$';
  return string<TimeOfDay>({
    expected: options.allowEndOfDay ? 'a time such as 18:00 (24:00 for midnight at the end of the day)' : 'a time such as 08:00',
    schema: { type: 'string', pattern },
    convert(text) {
      if (text === '24:00') return { text, minutes: 1440 };
      const [hours = '', minutes = ''] = text.split(':');
      return { text, minutes: Number(hours) * 60 + Number(minutes) };
    },
    refused(text, path) {
      const loose = /^(\d{1,2}):(\d{2})$/.exec(text);
      const padded = loose ? `${loose[1]!.padStart(2, '0')}:${loose[2]}` : undefined;
      const hint = padded && HH_MM.test(padded) ? `; did you mean ${JSON.stringify(padded)}?` : '';
      const endOfDay = text === '24:00' ? '; 24:00 is only allowed as an end' : '';
      return { ErrorClass: PolicyBadTimeError, message: `invalid time ${JSON.stringify(text)} at ${formatPath(path)}: write HH:MM on a 24-hour clock, e.g. 08:00 or 17:30${endOfDay}${hint}` };
    },
  });
}
