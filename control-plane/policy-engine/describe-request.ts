/**
 * Words for decisions. Denial messages reach the user through kubectl, so they start with what
 * was refused in Kubernetes terms (`user "alice" cannot list pods in namespace "b" on cluster
 * "prod"`) and then say why; names are quoted with JSON.stringify so that odd characters in a
 * name cannot forge the rest of the line.
 */
import type { ClusterInfo, Subject } from './engine-contract';
import type { RequestTarget } from './request-target';

const q = (text: string): string => JSON.stringify(text);

/** `list pods in namespace "b"`, `get deployments.apps/scale "web" in namespace "b"`, `get path "/metrics"`. */
export function describeAction(target: RequestTarget): string {
  const verb = target.verb === '' ? 'send a request with no Kubernetes verb to' : target.verb;
  if (!target.isResourceRequest) return `${verb} path ${q(target.path)}`;
  const group = target.apiGroup === '' ? '' : `.${target.apiGroup}`;
  const what = target.subresource === '' ? `${target.resource}${group}` : `${target.resource}${group}/${target.subresource}`;
  const name = target.name === '' ? '' : ` ${q(target.name)}`;
  const where = target.namespace === '' ? ' at the cluster scope' : ` in namespace ${q(target.namespace)}`;
  return `${verb} ${what}${name}${where}`;
}

/** `user "alice" cannot list pods in namespace "b" on cluster "prod"`. */
export function describeRefusal(subject: Subject, cluster: ClusterInfo, target: RequestTarget): string {
  return `user ${q(subject.user)} cannot ${describeAction(target)} on cluster ${q(cluster.name)}`;
}

/** `user "alice" (groups "a", "b")`, for audit reasons. */
export function describeSubject(subject: Subject): string {
  if (subject.groups.length === 0) return `user ${q(subject.user)} (no groups)`;
  return `user ${q(subject.user)} (groups ${subject.groups.map(q).join(', ')})`;
}

/** `AccessPolicy "x"`. */
export function describeDocument(kind: string, name: string): string {
  return `${kind} ${q(name)}`;
}

/** At most `max` items described, then "and N more", so audit reasons stay bounded. */
export function listSome<T>(items: readonly T[], describe: (item: T) => string, max = 8): string {
  const shown = items.slice(0, max).map(describe).join(', ');
  return items.length <= max ? shown : `${shown} and ${items.length - max} more`;
}

export function isoTime(epochMs: number): string {
  return Number.isFinite(epochMs) && Math.abs(epochMs) <= 8.64e15 ? new Date(epochMs).toISOString() : String(epochMs);
}
