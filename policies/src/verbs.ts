/**
 * The verbs Kubernetes authorizes. Resource requests use the API verbs (plus the special verbs
 * of a few resources); non-resource requests (/healthz, /version, /metrics) use the lowercase
 * HTTP method.
 */
export const RESOURCE_VERBS = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  // Special verbs: bind and escalate on roles, approve and sign on certificatesigningrequests,
  // use on resources that opt into it.
  'bind',
  'escalate',
  'approve',
  'sign',
  'use',
  '*',
] as const;
export type ResourceVerb = (typeof RESOURCE_VERBS)[number];

export const NON_RESOURCE_VERBS = ['get', 'head', 'options', 'post', 'put', 'patch', 'delete', '*'] as const;
export type NonResourceVerb = (typeof NON_RESOURCE_VERBS)[number];

/** Words people write as verbs that are something else in Kubernetes, with what to write instead. */
export const VERB_ADVICE: Readonly<Record<string, string>> = {
  exec: 'exec is the subresource pods/exec: grant resources: [pods/exec] with verbs: [create, get]',
  attach: 'attach is the subresource pods/attach: grant resources: [pods/attach] with verbs: [create, get]',
  'port-forward': 'port-forward is the subresource pods/portforward: grant resources: [pods/portforward] with verbs: [create, get]',
  portforward: 'port-forward is the subresource pods/portforward: grant resources: [pods/portforward] with verbs: [create, get]',
  log: 'logs are the subresource pods/log: grant resources: [pods/log] with verbs: [get]',
  logs: 'logs are the subresource pods/log: grant resources: [pods/log] with verbs: [get]',
  proxy: 'proxy is a subresource (pods/proxy, services/proxy, nodes/proxy): grant it under resources with verbs such as [get, create]',
  read: 'read access is verbs: [get, list, watch]',
  view: 'read access is verbs: [get, list, watch]',
  write: 'write access is verbs such as [create, update, patch, delete]',
  edit: 'edit access is verbs such as [create, update, patch, delete]',
  post: 'post is an HTTP method: for resources write create',
  put: 'put is an HTTP method: for resources write update',
  impersonate:
    'impersonate cannot be granted through kubegate: the edge removes Impersonate-* headers and impersonates the user itself',
};
