/** IANA time zone names, checked against the zones this Node.js (ICU) knows. */
import { formatPath, type Path } from './decode-context';
import type { Decoder } from './decoder';
import { string, type Problem } from './decoders';
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

function refusal(text: string, path: Path): Problem | undefined {
  const problem = timeZoneProblem(text);
  return problem ? { ErrorClass: PolicyBadTimeZoneError, message: `invalid time zone ${JSON.stringify(text)} at ${formatPath(path)}: it ${problem}` } : undefined;
}

export const timeZone: Decoder<string> = string({
  expected: 'an IANA time zone such as Europe/Berlin',
  schema: { type: 'string', minLength: 1 },
  // The schema only knows that a zone is not empty; the zones themselves are ICU's.
  refused: (text, path) => refusal(text, path),
  convert: (text, fail, path) => {
    const problem = refusal(text, path);
    return problem ? fail(problem.ErrorClass, problem.message) : text;
  },
});
