/**
 * kubegate's declarative policy model: types, parsing and validation of policy files.
 * Shared by the CLI (`kubegate policy ...`), the GitOps directory watcher and the policy engine.
 */
export { parsePolicyFile, checkPolicyFile, type PolicyFileResult } from './parse-policy-file';
export { validatePolicies, crossDocumentErrors } from './validate-policies';
export { loadPolicies, type PolicyFile } from './load-policies';
export { policyJsonSchema, POLICY_SCHEMA_ID } from './json-schema';

export { POLICY_API_VERSION, POLICY_KINDS, type PolicyKind, type PolicyDocumentOf, type SourceLocation } from './document-envelope';
export type { PolicyDocument } from './policy-document';
export type { PolicyMetadata } from './metadata';
export type { AccessPolicy, AccessPolicySpec, RequireActiveSession } from './access-policy';
export type { ClusterSettings, ClusterSettingsSpec } from './cluster-settings';
export type { BreakGlassPolicy, BreakGlassPolicySpec, Approval } from './break-glass-policy';
export { ACCESS_MODES, type AccessMode } from './access-mode';
export type { Subjects } from './subjects';
export type { ClusterScope } from './cluster-scope';
export { SELECTOR_OPERATORS, isOnlyNegative, type LabelSelector, type LabelSelectorRequirement, type SelectorOperator } from './label-selector';
export { isNonResourceRule, type PolicyRule, type ResourceRule, type NonResourceRule } from './policy-rule';
export type { ClusterRoleGrant } from './cluster-role-grant';
export { WEEKDAYS, type Validity, type TimeWindow, type Weekday } from './validity';
export type { Instant } from './instant';
export type { TimeOfDay } from './time-of-day';
export { parsePolicyDuration, formatPolicyDuration, type PolicyDuration } from './duration';
export { parseRfc3339 } from './instant';
export { RESOURCE_VERBS, NON_RESOURCE_VERBS, type ResourceVerb, type NonResourceVerb } from './verbs';

export * from './policy-errors';
export { PolicyValidationError } from './policy-validation-error';
