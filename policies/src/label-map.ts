/** Kubernetes-style labels (`env: prod`), as in metadata and cluster selectors. */
import { formatPath } from './decode-context';
import type { Decoder } from './decoder';
import { string, stringMap } from './decoders';
import { labelKeyRefused, labelValueRefused, PATTERNS } from './names';
import type { PolicyErrorClass } from './policy-errors';

/** Labels whose malformed keys and values are reported as `code`. */
export function labelMap(code: PolicyErrorClass, expected = 'a mapping of label keys to values, e.g. {env: prod}'): Decoder<Readonly<Record<string, string>>> {
  return stringMap({
    expected,
    code,
    keyPattern: PATTERNS.labelKey,
    keyProblem: labelKeyRefused,
    value: string({
      expected: 'a string',
      schema: { type: 'string', pattern: PATTERNS.labelValue },
      refused: (text, path) => ({ ErrorClass: code, message: labelValueRefused(text, formatPath(path)) }),
    }),
  });
}
