/**
 * One error class per way a policy file can be wrong. Each carries a stable `code` (use it in
 * scripts and tests, never the message), the file, the 1-based line and column of the offending
 * key or value, and the path of the field inside the document (`spec.rules[1].verbs[0]`).
 * The message says what to change.
 */

/** Where an error is: file, 1-based line and column, and the field's path in the document. */
export interface PolicyErrorLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Path of the field inside its document, e.g. `spec.rules[1].verbs[0]`; empty for the document itself. */
  readonly path: string;
}

export abstract class PolicyError extends Error implements PolicyErrorLocation {
  abstract readonly code: PolicyErrorCode;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;

  constructor(location: PolicyErrorLocation, message: string) {
    super(message);
    this.name = new.target.name;
    this.file = location.file;
    this.line = location.line;
    this.column = location.column;
    this.path = location.path;
  }

  /** `file:line:column: CODE message`, the format compilers use (editors and CI annotate it). */
  format(): string {
    return `${this.file}:${this.line}:${this.column}: ${this.code} ${this.message}`;
  }
}

/** The file is not well-formed YAML (bad indentation, unclosed bracket, duplicate key, unknown tag). */
export class PolicyYamlSyntaxError extends PolicyError {
  static readonly code = 'ERR_POLICY_YAML_SYNTAX';
  override readonly code = PolicyYamlSyntaxError.code;
}

/** `apiVersion` is not `kubegate.dev/v1alpha1`. */
export class PolicyBadApiVersionError extends PolicyError {
  static readonly code = 'ERR_POLICY_BAD_API_VERSION';
  override readonly code = PolicyBadApiVersionError.code;
}

/** `kind` is not one of the policy kinds. */
export class PolicyUnknownKindError extends PolicyError {
  static readonly code = 'ERR_POLICY_UNKNOWN_KIND';
  override readonly code = PolicyUnknownKindError.code;
}

/** A field that the kind does not define (usually a typo). */
export class PolicyUnknownFieldError extends PolicyError {
  static readonly code = 'ERR_POLICY_UNKNOWN_FIELD';
  override readonly code = PolicyUnknownFieldError.code;
}

/** A required field, or one of a required set of fields, is absent. */
export class PolicyMissingFieldError extends PolicyError {
  static readonly code = 'ERR_POLICY_MISSING_FIELD';
  override readonly code = PolicyMissingFieldError.code;
}

/** A value of the wrong YAML type: a string where a list is expected, a number for a name, null. */
export class PolicyBadTypeError extends PolicyError {
  static readonly code = 'ERR_POLICY_BAD_TYPE';
  override readonly code = PolicyBadTypeError.code;
}

/** A value outside its allowed set or range: an unknown enum value, an empty list, minApprovals 0. */
export class PolicyBadValueError extends PolicyError {
  static readonly code = 'ERR_POLICY_BAD_VALUE';
  override readonly code = PolicyBadValueError.code;
}

/** A name that cannot be what it names: document, cluster, namespace, subject, ClusterRole, label. */
export class PolicyBadNameError extends PolicyError {
  static readonly code = 'ERR_POLICY_BAD_NAME';
  override readonly code = PolicyBadNameError.code;
}

/** A duration that does not parse (`90 minutes`) or is outside the field's range. */
export class PolicyBadDurationError extends PolicyError {
  static readonly code = 'ERR_POLICY_BAD_DURATION';
  override readonly code = PolicyBadDurationError.code;
}

/** A timestamp that is not RFC 3339 with an offset, or a time of day that is not HH:MM. */
export class PolicyBadTimeError extends PolicyError {
  static readonly code = 'ERR_POLICY_BAD_TIME';
  override readonly code = PolicyBadTimeError.code;
}

/** A time zone that is not an IANA zone name. */
export class PolicyBadTimeZoneError extends PolicyError {
  static readonly code = 'ERR_POLICY_BAD_TIMEZONE';
  override readonly code = PolicyBadTimeZoneError.code;
}

/** A verb Kubernetes does not authorize. */
export class PolicyUnknownVerbError extends PolicyError {
  static readonly code = 'ERR_POLICY_UNKNOWN_VERB';
  override readonly code = PolicyUnknownVerbError.code;
}

/** A malformed rule entry: an API group with a version, a bad resource or URL pattern, a wildcard name. */
export class PolicyBadRuleError extends PolicyError {
  static readonly code = 'ERR_POLICY_BAD_RULE';
  override readonly code = PolicyBadRuleError.code;
}

/** A cluster label selector that is malformed or matches far more than it appears to. */
export class PolicyBadSelectorError extends PolicyError {
  static readonly code = 'ERR_POLICY_BAD_SELECTOR';
  override readonly code = PolicyBadSelectorError.code;
}

/** Settings that contradict each other or cannot take effect together. */
export class PolicyConflictError extends PolicyError {
  static readonly code = 'ERR_POLICY_CONFLICT';
  override readonly code = PolicyConflictError.code;
}

/** Two documents of the same kind with the same name. */
export class PolicyDuplicateError extends PolicyError {
  static readonly code = 'ERR_POLICY_DUPLICATE';
  override readonly code = PolicyDuplicateError.code;
}

export const POLICY_ERROR_CLASSES = [
  PolicyYamlSyntaxError,
  PolicyBadApiVersionError,
  PolicyUnknownKindError,
  PolicyUnknownFieldError,
  PolicyMissingFieldError,
  PolicyBadTypeError,
  PolicyBadValueError,
  PolicyBadNameError,
  PolicyBadDurationError,
  PolicyBadTimeError,
  PolicyBadTimeZoneError,
  PolicyUnknownVerbError,
  PolicyBadRuleError,
  PolicyBadSelectorError,
  PolicyConflictError,
  PolicyDuplicateError,
] as const;

export type PolicyErrorClass = (typeof POLICY_ERROR_CLASSES)[number];
export type PolicyErrorCode = PolicyErrorClass['code'];
export const POLICY_ERROR_CODES: readonly PolicyErrorCode[] = POLICY_ERROR_CLASSES.map((c) => c.code);
