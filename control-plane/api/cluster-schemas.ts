/**
 * Why: every cluster route takes a cluster's name in its path or body, and several take its
 * labels; one schema each, with one wording, so `cluster add`, `cluster register`, install
 * links and join tokens refuse a bad name or label alike (and as `kubegate cluster` does).
 */
import { pathParams, type JsonSchema } from './api-schemas';
import { PATTERNS } from '../../policies/src/names';

/** A cluster's name as agents' certificates carry it: a DNS label. */
export const CLUSTER_NAME: JsonSchema = {
  type: 'string',
  pattern: PATTERNS.clusterName,
  problems: { pattern: `cluster name "{text}" must be a DNS label (lowercase letters, digits and '-', at most 63)` },
};

/** The path parameters of /clusters/:name and below. */
export const CLUSTER_PARAMS: JsonSchema = pathParams({ name: CLUSTER_NAME });

/** Kubernetes labels, which policies select clusters by. */
export const LABELS: JsonSchema = {
  type: 'object',
  propertyNames: { pattern: PATTERNS.labelKey, problems: { pattern: `label key "{text}" must be an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric` } },
  additionalProperties: { type: 'string', pattern: PATTERNS.labelValue, problems: { pattern: `label value "{text}" must be empty or at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric` } },
};

/** Labels that may be left out; null counts as left out. */
export const OPTIONAL_LABELS: JsonSchema = { ...LABELS, nullable: true };
