/**
 * The request as rules see it: Kubernetes request attributes (from parseRequestAttributes) with
 * the combined `resource/subresource` RBAC matches on, computed once per evaluation.
 *
 * Privileged subresources (exec, attach, portforward, every proxy) are matched as the
 * resource/subresource they are whatever the HTTP method, so that no read grant reaches them:
 * - `get pods` never matches `pods/exec`, as in RBAC (the subresource is part of the resource);
 * - the deprecated `/api/v1/proxy/...` form, which kube-apiserver reports as verb `proxy` on the
 *   plain resource, is matched as `<resource>/proxy` with verb `proxy` (which only a `"*"` verb
 *   grants), never as the resource itself;
 * - exec, attach and portforward need `create` whatever the method: kubectl's WebSocket exec is a
 *   GET, and kube-apiserver (AuthorizePodWebsocketUpgradeCreatePermission, on by default since
 *   1.35) checks `create` on top of `get` for it. The engine does the same (see
 *   `createCheckVerb`), so `verbs: [get]` on pods/exec does not open a shell.
 */
import { isPrivilegedSubresource, type RequestAttributes } from '../kubernetes-api/request-attributes';

export interface RequestTarget {
  readonly isResourceRequest: boolean;
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  /** 'proxy' for the deprecated proxy verb form, else as parsed. */
  readonly subresource: string;
  /** `resource` or `resource/subresource`: what RBAC compares rule resources with. */
  readonly combinedResource: string;
  readonly namespace: string;
  /** '' when the request names no object (list, create, deletecollection). */
  readonly name: string;
  /** Non-resource requests: the path matched against nonResourceURLs. */
  readonly path: string;
  /** exec, attach, portforward or a proxy: opens a session rather than reading an object. */
  readonly privileged: boolean;
}

const POD_SESSIONS: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward']);

export function requestTarget(attrs: RequestAttributes): RequestTarget {
  const privileged = isPrivilegedSubresource(attrs);
  const subresource = attrs.isResourceRequest && attrs.verb === 'proxy' && attrs.subresource === '' ? 'proxy' : attrs.subresource;
  return {
    isResourceRequest: attrs.isResourceRequest,
    verb: attrs.verb,
    apiGroup: attrs.apiGroup,
    resource: attrs.resource,
    subresource,
    combinedResource: subresource === '' ? attrs.resource : `${attrs.resource}/${subresource}`,
    namespace: attrs.namespace,
    name: attrs.name,
    path: attrs.path,
    privileged,
  };
}

/**
 * 'create' when the request opens a pod session (exec, attach, portforward, in any API group,
 * erring towards privileged like isPrivilegedSubresource) with another verb, so that the engine
 * also requires create; undefined otherwise.
 */
export function createCheckVerb(target: RequestTarget): 'create' | undefined {
  if (!target.isResourceRequest || target.resource !== 'pods' || !POD_SESSIONS.has(target.subresource)) return undefined;
  return target.verb === 'create' ? undefined : 'create';
}
