/**
 * Who a document applies to (policies/README.md, "How documents combine" rule 1): a subject
 * matches when its user is one of `users` or one of its groups is one of `groups`. Users and
 * groups are separate namespaces: a user called "sre" is not the group "sre".
 *
 * With thousands of users and documents, scanning every document per request would dominate
 * evaluation, so documents are indexed by the names they list and a request looks only at the
 * documents naming its user or one of its groups.
 */
import type { Subjects } from '../../policies/src';
import type { Subject } from './engine-contract';

export interface SubjectMatcher {
  matches(subject: Subject): boolean;
}

export function compileSubjects(subjects: Subjects): SubjectMatcher {
  const users = new Set(subjects.users ?? []);
  const groups = new Set(subjects.groups ?? []);
  return {
    matches(subject) {
      if (users.has(subject.user)) return true;
      for (const group of subject.groups) if (groups.has(group)) return true;
      return false;
    },
  };
}

/** Anything indexed carries its position in document order, for dedup and stable ordering. */
export interface Indexed {
  readonly index: number;
}

const EMPTY: readonly never[] = [];

/** Bounds the per-user memo (one entry per user; kubegate's users are a bounded set). */
const MAX_REMEMBERED_SUBJECTS = 100_000;

function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class SubjectIndex<T extends Indexed> {
  private readonly byUser = new Map<string, T[]>();
  private readonly byGroup = new Map<string, T[]>();
  /** Per user: the groups last seen and the candidates they gave (a copy of the groups, so in-place changes miss). */
  private readonly remembered = new Map<string, { readonly groups: readonly string[]; readonly candidates: readonly T[] }>();
  /** seen[i] === stamp: entry i was already collected during the current `collect` call. */
  private readonly seen: Uint32Array;
  private stamp = 0;

  /** `entries` in document order, each with the subjects it names. */
  constructor(entries: readonly { readonly entry: T; readonly subjects: Subjects }[]) {
    let size = 0;
    for (const { entry, subjects } of entries) {
      size = Math.max(size, entry.index + 1);
      for (const user of new Set(subjects.users ?? [])) push(this.byUser, user, entry);
      for (const group of new Set(subjects.groups ?? [])) push(this.byGroup, group, entry);
    }
    this.seen = new Uint32Array(size);
  }

  /**
   * The entries naming the subject's user or one of its groups, each once, in document order.
   * The returned array is shared: callers must not modify it.
   */
  candidates(subject: Subject): readonly T[] {
    // A user asks again and again with the same groups: remember the merged list.
    const known = this.remembered.get(subject.user);
    if (known !== undefined && sameGroups(known.groups, subject.groups)) return known.candidates;
    const candidates = this.collect(subject);
    if (this.remembered.size >= MAX_REMEMBERED_SUBJECTS) this.remembered.clear();
    this.remembered.set(subject.user, { groups: [...subject.groups], candidates });
    return candidates;
  }

  private collect(subject: Subject): readonly T[] {
    const lists: T[][] = [];
    const own = this.byUser.get(subject.user);
    if (own) lists.push(own);
    for (const group of subject.groups) {
      const list = this.byGroup.get(group);
      if (list) lists.push(list);
    }
    if (lists.length === 0) return EMPTY;
    // Each list is already in document order without duplicates.
    if (lists.length === 1) return lists[0]!;

    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    const out: T[] = [];
    for (const list of lists) {
      for (const entry of list) {
        if (this.seen[entry.index] === this.stamp) continue;
        this.seen[entry.index] = this.stamp;
        out.push(entry);
      }
    }
    return out.sort((a, b) => a.index - b.index);
  }
}

function push<T>(map: Map<string, T[]>, key: string, entry: T): void {
  const list = map.get(key);
  if (list) list.push(entry);
  else map.set(key, [entry]);
}
