/** Rules: what kubegate allows at the edge, in Kubernetes RBAC terms. */
import { formatPath, type Path } from './decode-context';
import type { Decoder, Explained, SchemaError } from './decoder';
import { list, mapDecoder, string, type Problem } from './decoders';
import { closestMatch, suggestAmong } from './did-you-mean';
import { namespaceName } from './names';
import { object } from './object-decoder';
import { PolicyBadRuleError, PolicyConflictError, PolicyMissingFieldError, PolicyUnknownVerbError } from './policy-errors';
import { NON_RESOURCE_VERBS, RESOURCE_VERBS, VERB_ADVICE, type NonResourceVerb, type ResourceVerb } from './verbs';

/**
 * Allows requests for API resources, in Kubernetes RBAC terms. A request matches when its API
 * group, resource (or resource/subresource), verb, namespace and, if given, object name are all
 * listed. Rules only ever allow; nothing is denied by a rule.
 */
export interface ResourceRule {
  /** "" is the core group (pods, services, secrets); "*" is every group. */
  readonly apiGroups: readonly string[];
  /** Plural resource names, `resource/subresource` (pods/log), or "*". */
  readonly resources: readonly string[];
  readonly verbs: readonly ResourceVerb[];
  /**
   * Only namespaced requests in these namespaces. Absent: every namespace and cluster-scoped
   * resources too (like a ClusterRoleBinding).
   */
  readonly namespaces?: readonly string[];
  /** Only these object names (get, update, patch, delete of a named object). Absent: any name. */
  readonly resourceNames?: readonly string[];
}

/** Allows requests for non-resource paths such as /healthz, /version or /metrics. */
export interface NonResourceRule {
  /** Paths; a trailing "*" matches any continuation (`/healthz/*`). */
  readonly nonResourceURLs: readonly string[];
  readonly verbs: readonly NonResourceVerb[];
}

export type PolicyRule = ResourceRule | NonResourceRule;

export function isNonResourceRule(rule: PolicyRule): rule is NonResourceRule {
  return 'nonResourceURLs' in rule;
}

/** Everything a rule can say, before it is known which of the two kinds of rule it is. */
interface RuleFields {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
  readonly verbs: readonly string[];
}

const API_GROUP_PATTERN = '^(|\\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$';
const API_GROUP = new RegExp(API_GROUP_PATTERN);

const apiGroup = string({
  expected: 'an API group such as "" (core), apps or rbac.authorization.k8s.io',
  schema: { type: 'string', pattern: API_GROUP_PATTERN },
  refused(text, path) {
    const where = `invalid API group ${JSON.stringify(text)} at ${formatPath(path)}`;
    if (text.includes('/')) {
      const group = text.slice(0, text.indexOf('/'));
      return { ErrorClass: PolicyBadRuleError, message: `${where}: API groups are written without a version; did you mean ${JSON.stringify(group)}?` };
    }
    const lower = text.toLowerCase();
    const hint = lower !== text && API_GROUP.test(lower) ? `; did you mean ${JSON.stringify(lower)}?` : '';
    return { ErrorClass: PolicyBadRuleError, message: `${where}: an API group is "", "*" or a lowercase DNS name such as apps${hint}` };
  },
  // Valid DNS names, but no such groups: the core group (pods, services) is "".
  convert(text, fail, path) {
    if (text !== 'core' && text !== 'v1') return text;
    return fail(PolicyBadRuleError, `invalid API group ${JSON.stringify(text)} at ${formatPath(path)}: the core API group is written "" (an empty string): apiGroups: [""]`);
  },
});

const NAME = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const RESOURCE_PATTERN = `^(\\*|${NAME})(/(\\*|${NAME}))?$`;
const RESOURCE = new RegExp(RESOURCE_PATTERN);
/** Kinds people write in the singular; the resource is the plural. */
const SINGULAR_TO_PLURAL: Readonly<Record<string, string>> = {
  pod: 'pods',
  service: 'services',
  secret: 'secrets',
  configmap: 'configmaps',
  namespace: 'namespaces',
  node: 'nodes',
  deployment: 'deployments',
  statefulset: 'statefulsets',
  daemonset: 'daemonsets',
  replicaset: 'replicasets',
  job: 'jobs',
  cronjob: 'cronjobs',
  ingress: 'ingresses',
  serviceaccount: 'serviceaccounts',
  persistentvolumeclaim: 'persistentvolumeclaims',
  persistentvolume: 'persistentvolumes',
  role: 'roles',
  rolebinding: 'rolebindings',
  clusterrole: 'clusterroles',
  clusterrolebinding: 'clusterrolebindings',
  event: 'events',
};

const invalidResource = (text: string, path: Path) => `invalid resource ${JSON.stringify(text)} at ${formatPath(path)}`;

/** A kind written in the singular (`pod`, `pod/log`): well-formed, but no resource is called that. */
function singularResource(text: string, path: Path): Problem | undefined {
  const [main = '', sub] = text.split('/', 2);
  const plural = SINGULAR_TO_PLURAL[main];
  if (!plural) return undefined;
  const fixed = sub === undefined ? plural : `${plural}/${sub}`;
  return {
    ErrorClass: PolicyBadRuleError,
    message: `${invalidResource(text, path)}: resources are plural, as kubectl api-resources lists them; did you mean ${JSON.stringify(fixed)}?`,
  };
}

const resource = string({
  expected: 'a resource such as pods, pods/log or deployments',
  schema: { type: 'string', pattern: RESOURCE_PATTERN },
  refused(text, path) {
    const singular = singularResource(text, path);
    if (singular) return singular;
    const where = invalidResource(text, path);
    if (/^[a-z0-9-]+\.[a-z0-9.-]+$/.test(text)) {
      const [res, ...group] = text.split('.');
      return {
        ErrorClass: PolicyBadRuleError,
        message: `${where}: a resource is named without its API group: write resources: [${res}] with apiGroups: [${group.join('.')}]`,
      };
    }
    const lower = text.toLowerCase();
    if (lower !== text && RESOURCE.test(lower)) {
      return { ErrorClass: PolicyBadRuleError, message: `${where}: resources are lowercase, as kubectl api-resources lists them; did you mean ${JSON.stringify(lower)}?` };
    }
    return { ErrorClass: PolicyBadRuleError, message: `${where}: write a lowercase plural resource, resource/subresource (pods/log) or "*"` };
  },
  convert(text, fail, path) {
    const singular = singularResource(text, path);
    return singular ? fail(singular.ErrorClass, singular.message) : text;
  },
});

const resourceName = string({
  expected: 'an object name such as app-config',
  schema: { type: 'string', pattern: '^[^/%*\\s]{1,253}$' },
  refused(text, path) {
    const where = `invalid resource name ${JSON.stringify(text)} at ${formatPath(path)}`;
    if (text.includes('*')) {
      return { ErrorClass: PolicyBadRuleError, message: `${where}: resourceNames are exact object names without wildcards; leave resourceNames out to allow every name` };
    }
    return { ErrorClass: PolicyBadRuleError, message: `${where}: an object name has 1 to 253 characters and no '/', '%' or spaces` };
  },
});

const NON_RESOURCE_URL_PATTERN = '^(\\*|/[^*\\s]*\\*?)$';

const nonResourceURL = string({
  expected: 'a path such as /healthz or /healthz/*',
  schema: { type: 'string', pattern: NON_RESOURCE_URL_PATTERN },
  refused(text, path) {
    const where = `invalid non-resource URL ${JSON.stringify(text)} at ${formatPath(path)}`;
    if (/^[a-z]+:\/\//i.test(text)) return { ErrorClass: PolicyBadRuleError, message: `${where}: write only the path, e.g. /healthz` };
    if (!text.startsWith('/')) return { ErrorClass: PolicyBadRuleError, message: `${where}: a path starts with '/', e.g. /healthz` };
    return { ErrorClass: PolicyBadRuleError, message: `${where}: "*" may appear only once, at the end (/healthz/*), and paths have no spaces` };
  },
});

const RULE_FIELDS = ['apiGroups', 'resources', 'verbs', 'namespaces', 'resourceNames', 'nonResourceURLs'] as const;

/** Whether a rule is written as a non-resource rule (a misspelt nonResourceURLs counts). */
function writesNonResourceURLs(rule: unknown): boolean {
  if (typeof rule !== 'object' || rule === null) return false;
  return Object.keys(rule).some((key) => key === 'nonResourceURLs' || (!(RULE_FIELDS as readonly string[]).includes(key) && closestMatch(key, RULE_FIELDS) === 'nonResourceURLs'));
}

/** What is wrong with a verb in a resource or a non-resource rule, or undefined. */
function verbProblem(verb: string, nonResource: boolean, path: Path): Problem | undefined {
  const allowed: readonly string[] = nonResource ? NON_RESOURCE_VERBS : RESOURCE_VERBS;
  if (allowed.includes(verb)) return undefined;
  const advice = VERB_ADVICE[verb];
  const where = formatPath(path);
  if (verb === 'impersonate' && advice) return { ErrorClass: PolicyBadRuleError, message: `verb "impersonate" at ${where}: ${advice}` };
  if (advice && !nonResource) return { ErrorClass: PolicyUnknownVerbError, message: `unknown verb ${JSON.stringify(verb)} at ${where}: ${advice}` };
  const kind = nonResource ? ' for nonResourceURLs' : '';
  return { ErrorClass: PolicyUnknownVerbError, message: `unknown verb ${JSON.stringify(verb)}${kind} at ${where}${suggestAmong(verb, allowed)}` };
}

/**
 * The schema allows every verb of either kind of rule; which kind the rule is decides the
 * rest (the rule's check), and the message for a refused verb.
 */
const verb = string({
  expected: 'a verb such as get',
  schema: { type: 'string', enum: [...new Set<string>([...RESOURCE_VERBS, ...NON_RESOURCE_VERBS])] },
  refused: (text, path, error) => verbProblem(text, writesNonResourceURLs(error.dataAt(path.slice(0, -2))), path),
});

/** ajv's oneOf (resource or non-resource rule) and dependentSchemas (nothing of a resource rule beside nonResourceURLs), said for a rule. */
function explainRuleShape(error: SchemaError, has: (path: Path, field: string) => boolean): Explained {
  const [first] = error.schemaPath;
  if (first === 'oneOf') {
    // Inside a branch: one reason why it did not match, summed up by the oneOf error itself.
    if (error.keyword !== 'oneOf') return null;
    const here = formatPath(error.path);
    // Both kinds at once: dependentSchemas names the fields that conflict.
    if (has(error.path, 'nonResourceURLs')) return null;
    if (!has(error.path, 'resources')) {
      return { ErrorClass: PolicyMissingFieldError, message: `rule ${here} grants nothing: add resources (with apiGroups) or nonResourceURLs`, anchor: 'key' };
    }
    if (!has(error.path, 'apiGroups')) {
      return {
        ErrorClass: PolicyMissingFieldError,
        message: `missing required field "apiGroups" in ${here}: write apiGroups: [""] for core resources such as pods, or the group of the resources, such as apps`,
        anchor: 'key',
      };
    }
    return null;
  }
  if (first === 'dependentSchemas' && error.keyword === 'false schema') {
    const rule = error.path.slice(0, -1);
    const field = String(error.path[error.path.length - 1]);
    if (field === 'resources') {
      return {
        ErrorClass: PolicyConflictError,
        message: `rule ${formatPath(rule)} has both resources and nonResourceURLs: a rule grants either API resources or non-resource paths; split it into two rules`,
        path: [...rule, 'nonResourceURLs'],
        anchor: 'key',
      };
    }
    // Said once, as "has both", when the rule has resources too.
    if (has(rule, 'resources')) return null;
    return { ErrorClass: PolicyConflictError, message: `${field} at ${formatPath(error.path)} does not apply to nonResourceURLs: remove it`, anchor: 'key' };
  }
  return undefined;
}

const CANNOT_RESTRICT_BY_NAME = ['create', 'deletecollection'];

const ruleFields = object<RuleFields>({
  expected: 'a mapping with apiGroups, resources and verbs (or nonResourceURLs and verbs)',
  schemaName: 'Rule',
  description:
    'Allows requests, in Kubernetes RBAC terms. A resource rule lists apiGroups, resources and verbs, optionally narrowed by namespaces and resourceNames; a non-resource rule lists nonResourceURLs and verbs. A rule never denies.',
  fields: {
    apiGroups: {
      decoder: list(apiGroup, { expected: 'a list of API groups', noun: 'API group', wildcardAlone: true }),
      description: 'API groups of the resources: "" for the core group (pods, services, secrets), "*" for every group. Required with resources.',
      example: ['', 'apps'],
    },
    resources: {
      decoder: list(resource, { expected: 'a list of resources', noun: 'resource', wildcardAlone: true }),
      description:
        'Plural resource names as kubectl api-resources lists them, resource/subresource for subresources (pods/log, pods/exec), or "*".',
      example: ['pods', 'pods/log', 'deployments'],
    },
    verbs: {
      decoder: list(verb, { expected: 'a list of verbs', noun: 'verb', wildcardAlone: true }),
      required: true,
      missingHint: 'e.g. verbs: [get, list, watch]',
      description:
        'What may be done. Resource rules: get, list, watch, create, update, patch, delete, deletecollection, bind, escalate, approve, sign, use, or "*". Non-resource rules: get, head, options, post, put, patch, delete, or "*".',
      example: ['get', 'list', 'watch'],
    },
    namespaces: {
      decoder: list(namespaceName, { expected: 'a list of namespaces', noun: 'namespace' }),
      description:
        'Limits the rule to namespaced requests in these namespaces. Leave it out to cover every namespace and cluster-scoped resources.',
      example: ['payments'],
    },
    resourceNames: {
      decoder: list(resourceName, { expected: 'a list of object names', noun: 'resource name' }),
      description: 'Limits the rule to objects with these exact names. Cannot restrict create or deletecollection.',
      example: ['payments-config'],
    },
    nonResourceURLs: {
      decoder: list(nonResourceURL, { expected: 'a list of paths', noun: 'path' }),
      description: 'Non-resource paths such as /healthz or /version; a trailing "*" matches any continuation. Not combined with resource fields.',
      example: ['/healthz', '/readyz', '/version'],
    },
  },
  schemaExtras: {
    oneOf: [{ required: ['apiGroups', 'resources'] }, { required: ['nonResourceURLs'] }],
    dependentSchemas: {
      nonResourceURLs: { properties: { apiGroups: false, resources: false, namespaces: false, resourceNames: false } },
    },
  },
  explain: (error, fieldsAt) => explainRuleShape(error, (path, field) => fieldsAt(path).has(field)),
  check(value, at) {
    // Verbs the schema allows for one kind of rule, written in the other.
    if (value.verbs) {
      const nonResource = at.has('nonResourceURLs');
      value.verbs.forEach((v, i) => {
        const problem = verbProblem(v, nonResource, [...at.path, 'verbs', i]);
        if (problem) at.report(problem.ErrorClass, ['verbs', i], problem.message);
      });
      if (at.has('resourceNames')) {
        for (const v of value.verbs.filter((x) => CANNOT_RESTRICT_BY_NAME.includes(x))) {
          at.report(
            PolicyConflictError,
            ['resourceNames'],
            `resourceNames at ${formatPath([...at.path, 'resourceNames'])} cannot restrict ${v}: Kubernetes authorizes ${v} before any object name is known; move ${v} into a rule without resourceNames`,
            { atKey: true },
          );
        }
      }
    }
  },
});

/** A rule, as the resource or non-resource kind its fields make it. */
export const policyRule: Decoder<PolicyRule> = mapDecoder(ruleFields, (r): PolicyRule =>
  r.nonResourceURLs
    ? { nonResourceURLs: r.nonResourceURLs, verbs: r.verbs as readonly NonResourceVerb[] }
    : {
        apiGroups: r.apiGroups!,
        resources: r.resources!,
        verbs: r.verbs as readonly ResourceVerb[],
        ...(r.namespaces ? { namespaces: r.namespaces } : {}),
        ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
      },
);
