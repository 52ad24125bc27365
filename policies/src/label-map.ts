import { stringMap, type Decoder } from './decoders';
import { labelKeyProblem, labelValueProblem, PATTERNS } from './names';
import type { PolicyErrorClass } from './policy-errors';

/** Kubernetes-style labels (`env: prod`); bad keys and values are reported as `code`. */
export function labelMap(code: PolicyErrorClass, expected = 'a mapping of label keys to values, e.g. {env: prod}'): Decoder<Readonly<Record<string, string>>> {
  return stringMap({
    expected,
    code,
    keyPattern: PATTERNS.labelKey,
    valuePattern: PATTERNS.labelValue,
    checkKey: labelKeyProblem,
    checkValue: labelValueProblem,
  });
}
