/**
 * Name rules: which strings can be a document name, a cluster, a namespace, a subject, a
 * ClusterRole or a label. Patterns are written as strings because they also go into the JSON
 * Schema.
 */
import { formatPath } from './decode-context';
import type { Decoder } from './decoder';
import { string } from './decoders';
import { PolicyBadNameError, type PolicyErrorClass } from './policy-errors';

const DNS_LABEL = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
const DNS_SUBDOMAIN = `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`;
const LABEL_NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';

export const PATTERNS = {
  /** Document names: a Kubernetes object name (DNS subdomain), at most 253 characters. */
  documentName: `^(?=.{1,253}$)${DNS_SUBDOMAIN}$`,
  /** Cluster names, as kubegate registers them: a DNS label (they become URL path segments). */
  clusterName: `^${DNS_LABEL}$`,
  /** Kubernetes namespaces: DNS labels. */
  namespace: `^${DNS_LABEL}$`,
  /** Users and groups as the identity provider names them; not Kubernetes' reserved system: names. */
  subject: '^(?!system:)(?!\\*$)[^\\s\\x00-\\x1f\\x7f]{1,256}$',
  /** ClusterRole names: letters, digits, '-', '.', '_' and ':' (system:aggregate-to-view). */
  clusterRole: '^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9._:]*[A-Za-z0-9])?$',
  /** Label keys: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
  labelKey: `^((?=[^/]{1,253}/)${DNS_SUBDOMAIN}/)?${LABEL_NAME}$`,
  /** Label values: empty, or at most 63 letters, digits, '-', '_', '.', starting and ending alphanumeric. */
  labelValue: `^(${LABEL_NAME})?$`,
} as const;

const matcher = (pattern: string): RegExp => new RegExp(pattern, 'u');
const RE = Object.fromEntries(Object.entries(PATTERNS).map(([k, v]) => [k, matcher(v)])) as Record<keyof typeof PATTERNS, RegExp>;

export function isDnsLabel(text: string): boolean {
  return RE.namespace.test(text);
}

/** The closest DNS name to what was written: lowercase, other characters replaced by '-'. */
function dnsSuggestion(text: string, valid: RegExp): string {
  const guess = text
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return guess !== text && valid.test(guess) ? `; did you mean ${JSON.stringify(guess)}?` : '';
}

interface NameRule {
  readonly expected: string;
  readonly pattern: string;
  readonly noun: string;
  /** The rule, as told to the user. */
  readonly rule: string;
  readonly code?: PolicyErrorClass;
  /** A special explanation for some refused inputs (e.g. a wildcard), preferred to the rule. */
  readonly explain?: (text: string) => string | undefined;
  readonly suggest?: (text: string) => string;
}

function nameDecoder(rule: NameRule): Decoder<string> {
  return string({
    expected: rule.expected,
    schema: { type: 'string', pattern: rule.pattern },
    // The pattern refused the text (special cases such as a wildcard are outside it too): say why.
    refused(text, path) {
      const special = rule.explain?.(text);
      const why = special ?? `${rule.rule}${rule.suggest?.(text) ?? ''}`;
      return { ErrorClass: rule.code ?? PolicyBadNameError, message: `invalid ${rule.noun} ${JSON.stringify(text)} at ${formatPath(path)}: ${why}` };
    },
  });
}

export const documentName = nameDecoder({
  expected: 'a name such as payments-readonly',
  pattern: PATTERNS.documentName,
  noun: 'name',
  rule: "use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters",
  suggest: (t) => dnsSuggestion(t, RE.documentName),
});

export const clusterName = nameDecoder({
  expected: 'a cluster name such as prod-eu-1',
  pattern: PATTERNS.clusterName,
  noun: 'cluster name',
  rule: "cluster names are DNS labels: lowercase letters, digits and '-', at most 63 characters",
  explain: (t) => (t.includes('*') ? 'names are exact; to choose clusters by pattern, label them and use a selector' : undefined),
  suggest: (t) => dnsSuggestion(t, RE.clusterName),
});

export const namespaceName = nameDecoder({
  expected: 'a namespace such as payments',
  pattern: PATTERNS.namespace,
  noun: 'namespace',
  rule: "namespaces are DNS labels: lowercase letters, digits and '-', at most 63 characters",
  explain: (t) => (t.includes('*') ? 'namespaces are exact names; leave out namespaces to cover every namespace and cluster-scoped resources' : undefined),
  suggest: (t) => dnsSuggestion(t, RE.namespace),
});

export function subjectName(noun: 'user' | 'group'): Decoder<string> {
  return nameDecoder({
    expected: `a ${noun} name such as ${noun === 'user' ? 'alice@example.com' : 'payments-engineers'}`,
    pattern: PATTERNS.subject,
    noun: `${noun} name`,
    rule: 'a name has 1 to 256 characters and no spaces or control characters',
    explain: (t) => {
      if (t === '*') return `there is no wildcard ${noun}: name ${noun}s, or use a group that everyone concerned belongs to`;
      if (t.startsWith('system:')) {
        return `names starting with "system:" are reserved by Kubernetes and are never kubegate identities`;
      }
      return undefined;
    },
  });
}

export const clusterRoleName = nameDecoder({
  expected: 'a ClusterRole name such as view',
  pattern: PATTERNS.clusterRole,
  noun: 'ClusterRole name',
  rule: "a ClusterRole name has letters, digits, '-', '.', '_' and ':', starts and ends with a letter or digit, at most 253 characters",
  explain: (t) => (t.includes('*') ? 'ClusterRoles are named exactly; there is no wildcard' : undefined),
});

const LABEL_KEY_RULE = "a label key is an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric (e.g. env, kubegate.dev/tier)";
const LABEL_VALUE_RULE = "a label value is empty or at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric";

/** Why a label key the schema's pattern refused is not one. */
export function labelKeyRefused(key: string, where: string): string {
  return `invalid label key ${JSON.stringify(key)} at ${where}: ${LABEL_KEY_RULE}`;
}

/** Why a label value the schema's pattern refused is not one. */
export function labelValueRefused(value: string, where: string): string {
  return `invalid label value ${JSON.stringify(value)} at ${where}: ${LABEL_VALUE_RULE}`;
}
