/** IANA time zone names, checked against the zones this Node.js (ICU) knows. */
import { formatPath } from './decode-context';
import { string, type Decoder } from './decoders';
import { closestMatch } from './did-you-mean';
import { PolicyBadTimeZoneError } from './policy-errors';

let knownZones: readonly string[] | undefined;
function zones(): readonly string[] {
  knownZones ??= [...Intl.supportedValuesOf('timeZone'), 'UTC'];
  return knownZones;
}

/** What is wrong with a time zone name, or undefined when Intl accepts it as written. */
export function timeZoneProblem(name: string): string | undefined {
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const match = closestMatch(name, zones());
    return `is not an IANA time zone${match ? `; did you mean ${JSON.stringify(match)}?` : ';'} write a name such as Europe/Berlin, America/New_York or UTC`;
  }
  if (resolved.toLowerCase() === name.toLowerCase() && resolved !== name) {
    return `is not spelled as the IANA database spells it; did you mean ${JSON.stringify(resolved)}?`;
  }
  if (name !== 'UTC' && !name.includes('/')) {
    // EST, CET, GMT...: Intl accepts them, but they are fixed offsets or aliases that surprise
    // people (EST never observes daylight saving time).
    return 'is an abbreviation, not a zone: write an Area/Location name such as Europe/Berlin or America/New_York, or UTC';
  }
  return undefined;
}

export const timeZone: Decoder<string> = string({
  expected: 'an IANA time zone such as Europe/Berlin',
  schema: { type: 'string', minLength: 1 },
  parse(text, fail, path) {
    const problem = timeZoneProblem(text);
    return problem ? fail(PolicyBadTimeZoneError, `invalid time zone ${JSON.stringify(text)} at ${formatPath(path)}: it ${problem}`) : text;
  },
});
