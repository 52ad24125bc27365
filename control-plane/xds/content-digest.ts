/**
 * Frozen copies and content digests of xDS resources, made in one pass, cheap when a resource
 * is large but made of parts that repeat. The edge's listener has a filter chain per user, each
 * embedding the same connection manager: hashing the listener's canonical JSON as one text
 * would write that connection manager out once per user on every push, which at ten thousand
 * users took seconds.
 *
 * A digest is SHA-256 over a canonical form (keys sorted, undefined left out, bytes as base64,
 * as canonicalJson writes them) in which every *part* stands as its own digest. Parts are the
 * objects in arrays (resources, filter chains, filters, matchers, ...) and embedded Anys
 * (objects with '@type'). Which values are parts depends only on the shape of the content, never
 * on where an object came from, so equal content always has equal digests; and an object the
 * input holds many times (one connection manager in every chain) is copied and written out once.
 */
import { createHash } from 'node:crypto';

interface Copied {
  readonly copy: unknown;
  /** The canonical form of the value itself, its parts written as digests. */
  readonly body: string;
  /** sha256(body), once it was needed. */
  digest?: string;
}

/**
 * Copies and digests of parts, kept from one snapshot to the next. Only parts adopted in place
 * are remembered (frozen, so they cannot have changed since), keyed by the object itself and
 * held weakly: a part that no snapshot and no translator memo holds any more is collected. A
 * translator that hands back the same object for an unchanged filter chain
 * (translator/filter-chain-memo.ts) then costs one lookup instead of a copy and a hash.
 */
export class DigestMemo {
  /** @internal */
  readonly parts = new WeakMap<object, Copied>();
}

/**
 * Copies values for one snapshot. Each copy is deeply frozen and private, so a caller changing
 * its objects afterwards cannot change content whose digest was taken.
 */
export class ContentCopier {
  private readonly seen = new Map<object, Copied>();
  /** Digests of the parts copied, by their copy: what encoding looks chains up by. */
  private readonly partDigests = new Map<object, string>();

  /**
   * @param adopt the values are handed over (nobody else holds them): they are frozen where
   * they are instead of copied, which at ten thousand filter chains saves allocating and
   * collecting hundreds of thousands of objects per push.
   */
  constructor(
    private readonly adopt = false,
    private readonly memo?: DigestMemo,
  ) {}

  /** A deeply frozen copy of `value`, and its digest. */
  copy(value: unknown): { copy: unknown; digest: string } {
    const copied = this.node(value);
    return { copy: copied.copy, digest: isObject(value) ? this.digestOf(copied) : sha256(copied.body) };
  }

  /** The digest of an object this copier returned, or of one of its parts; undefined for others. */
  digestOfCopy(copy: object): string | undefined {
    return this.partDigests.get(copy);
  }

  /** Forgets the originals (keeping digestOfCopy working), so they can be collected. */
  forgetOriginals(): void {
    this.seen.clear();
  }

  private node(value: unknown): Copied {
    if (typeof value !== 'object' || value === null) return { copy: value, body: scalar(value) };
    // Only embedded Anys are remembered: what is shared in practice (a filter chain's connection
    // manager) is one, and remembering every small object costs more than it saves.
    const shareable = isObject(value) && value['@type'] !== undefined;
    const known = shareable ? this.seen.get(value) : undefined;
    if (known) return known;
    let copied: Copied;
    if (value instanceof Uint8Array) {
      // Typed arrays cannot be frozen; the copy is private.
      copied = { copy: Buffer.from(value), body: JSON.stringify({ $bytes: Buffer.from(value).toString('base64') }) };
    } else if (Array.isArray(value)) {
      const list: unknown[] = [];
      const texts: string[] = [];
      let same = true;
      for (const element of value) {
        if (element === undefined) {
          list.push(undefined);
          texts.push('null');
          continue;
        }
        const child = this.part(element);
        list.push(child.copy);
        same &&= child.copy === element;
        texts.push(isObject(element) ? this.reference(child) : child.body);
      }
      // Adopted as it is unless a child had to be copied (bytes).
      copied = { copy: Object.freeze(this.adopt && same ? value : list), body: `[${texts.join(',')}]` };
    } else {
      const source = value as Record<string, unknown>;
      let object: Record<string, unknown> = {};
      const children = new Map<string, Copied>();
      let same = true;
      // The copy keeps the original order of keys; the canonical form sorts them.
      for (const key of Object.keys(source)) {
        const v = source[key];
        if (v === undefined) {
          object[key] = undefined;
          continue;
        }
        const child = this.node(v);
        children.set(key, child);
        object[key] = child.copy;
        same &&= child.copy === v;
      }
      if (this.adopt && same) object = source;
      let body = '{';
      for (const key of [...children.keys()].sort()) {
        const v = source[key];
        const child = children.get(key)!;
        body += `${body.length > 1 ? ',' : ''}${quotedKey(key)}:${isObject(v) && v['@type'] !== undefined ? this.reference(child) : child.body}`;
      }
      copied = { copy: Object.freeze(object), body: body + '}' };
    }
    if (shareable) this.seen.set(value, copied);
    return copied;
  }

  /** An element of an array: a part, which the memo may know from an earlier snapshot. */
  private part(value: unknown): Copied {
    if (!this.memo || !this.adopt || !isObject(value)) return this.node(value);
    const known = Object.isFrozen(value) ? this.memo.parts.get(value) : undefined;
    if (known) {
      if (known.digest !== undefined) this.partDigests.set(known.copy as object, known.digest);
      return known;
    }
    const copied = this.node(value);
    // Remembered only when adopted in place: a later snapshot will hand in this very object.
    // An array element is referred to by its digest alone, so its canonical text is not kept.
    if (copied.copy !== value) return copied;
    const remembered: Copied = { copy: value, body: '', digest: this.digestOf(copied) };
    this.memo.parts.set(value, remembered);
    return remembered;
  }

  private reference(part: Copied): string {
    return `{"$part":"${this.digestOf(part)}"}`;
  }

  private digestOf(part: Copied): string {
    if (part.digest === undefined) {
      part.digest = sha256(part.body);
      this.partDigests.set(part.copy as object, part.digest);
    }
    return part.digest;
  }
}

/**
 * The digest of an array of objects given their digests: what copy() of the array would
 * return, without looking at the objects again.
 */
export function digestOfList(objectDigests: readonly string[]): string {
  return sha256(`[${objectDigests.map((d) => `{"$part":"${d}"}`).join(',')}]`);
}

/** The digest of a value (64 hex digits); equal content, equal digest. */
export function contentDigest(value: unknown): string {
  return new ContentCopier().copy(value).digest;
}

/** Keys repeat across every object of a kind; quoting each once is measurably cheaper. */
const quotedKeys = new Map<string, string>();
function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < 10_000) quotedKeys.set(key, quoted);
  }
  return quoted;
}

function scalar(value: unknown): string {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString());
    default:
      if (value === null) return 'null';
      throw new TypeError(`cannot hash a ${typeof value} in an xDS resource`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
