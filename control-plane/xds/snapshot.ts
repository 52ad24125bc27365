/**
 * An immutable, versioned set of xDS resources for one Envoy: what the translator produced at
 * one moment. Versions are content hashes, so publishing the same configuration twice yields the
 * same versions and Envoy is not sent anything it already has; and a version means the same
 * configuration in every log line, status page and Envoy admin dump that mentions it.
 */
import { createHash } from 'node:crypto';
import type { XdsResources } from './resources';
import {
  CLUSTER_TYPE_URL,
  ENDPOINT_TYPE_URL,
  LISTENER_TYPE_URL,
  RESOURCE_TYPES,
  ROUTE_TYPE_URL,
  SECRET_TYPE_URL,
  resourceName,
  resourceTypeOf,
  type ResourceType,
  type TypeUrl,
} from './resource-types';
import { encodeListener, encodeResource, InvalidResourceError, type EncodedFilterChains, type EncodedResource } from './resource-encoding';
import { ContentCopier, digestOfList, type DigestMemo } from './content-digest';

/** 16 hex digits (64 bits) of sha256: short enough to read in logs, far from colliding. */
const VERSION_HEX_DIGITS = 16;

export interface MissingReference {
  readonly kind: 'route' | 'endpoints' | 'secret';
  /** The name that was referenced but is not in the snapshot. */
  readonly name: string;
  /** Who referenced it, e.g. 'listener "edge-https"'. */
  readonly referencedBy: string;
}

/** The snapshot references resources it does not contain; Envoy would wait for them forever. */
export class InconsistentSnapshotError extends Error {
  readonly code = 'ERR_XDS_INCONSISTENT_SNAPSHOT';
  constructor(readonly missing: readonly MissingReference[]) {
    super(
      `xDS snapshot is inconsistent; ${missing.length} missing reference${missing.length === 1 ? '' : 's'}: ` +
        missing.map((m) => `${m.referencedBy} references ${describeKind(m.kind)} "${m.name}", which is not in the snapshot`).join('; '),
    );
    this.name = 'InconsistentSnapshotError';
  }
}

function describeKind(kind: MissingReference['kind']): string {
  return kind === 'route' ? 'route configuration' : kind === 'endpoints' ? 'cluster load assignment (EDS)' : 'secret (SDS)';
}

const HCM_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export class Snapshot {
  private readonly overallVersion: string;
  private readonly lists: XdsResources;
  private readonly byType = new Map<TypeUrl, ReadonlyMap<string, object>>();
  private readonly versions = new Map<TypeUrl, string>();
  /** Each resource's own version (its content digest, shortened): what delta xDS compares. */
  private readonly resourceVersionMaps = new Map<TypeUrl, ReadonlyMap<string, string>>();
  /** Encoded once per snapshot, on first use (setSnapshot forces it), then shared by every push. */
  private readonly encoded = new Map<TypeUrl, ReadonlyMap<string, EncodedResource>>();
  /** The listeners' filter chains as encoded for this snapshot, by content digest. */
  private readonly filterChains = new Map<string, Buffer>();
  /** Filter chains encoded for an earlier snapshot, until this one's listeners are encoded. */
  private earlierFilterChains?: EncodedFilterChains;
  /** Knows the digest of every part of the resources, until the listeners are encoded. */
  private copier?: ContentCopier;

  /**
   * @param options.adopt the caller hands `resources` over and never touches them again (a
   * translator's fresh output): they are frozen in place rather than copied.
   * @param options.memo remembers adopted parts' digests for the next snapshot of the same
   * source (content-digest.ts DigestMemo); only with adopt.
   */
  constructor(resources: XdsResources, options: { readonly adopt?: boolean; readonly memo?: DigestMemo } = {}) {
    const lists: Record<string, readonly object[]> = {};
    // One copier for the whole snapshot: an object referenced many times (the connection
    // manager of every user's filter chain) is copied, and digested, once.
    const copier = new ContentCopier(options.adopt === true, options.memo);
    this.copier = copier;
    for (const type of RESOURCE_TYPES) {
      const byName = new Map<string, object>();
      const digests = new Map<string, string>();
      const list = resources[type.kind];
      if (!Array.isArray(list)) throw new TypeError(`XdsResources.${type.kind} must be an array`);
      list.forEach((resource: object, index: number) => {
        const name = resourceName(type, resource);
        if (name === undefined) {
          throw new InvalidResourceError('ERR_XDS_MISSING_NAME', type.shortName, '', `$.${type.nameField}`, `${type.kind}[${index}] needs a non-empty "${type.nameField}"`);
        }
        if (byName.has(name)) {
          throw new InvalidResourceError('ERR_XDS_DUPLICATE_NAME', type.shortName, name, `$.${type.nameField}`, `${type.kind}[${index}] repeats the name "${name}"; names identify xDS resources, so they must be unique`);
        }
        // A private frozen copy (or, adopted, frozen where it is): the caller mutating its
        // objects later must not change a snapshot whose version was computed from them.
        const { copy, digest } = copier.copy(resource);
        byName.set(name, copy as object);
        digests.set(name, digest);
      });
      lists[type.kind] = Object.freeze([...byName.values()]);
      const sorted = new Map([...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      this.byType.set(type.typeUrl, sorted);
      this.resourceVersionMaps.set(type.typeUrl, new Map([...digests].map(([name, digest]) => [name, digest.slice(0, VERSION_HEX_DIGITS)])));
      this.versions.set(type.typeUrl, digestOfList([...sorted.keys()].map((name) => digests.get(name)!)).slice(0, VERSION_HEX_DIGITS));
    }
    copier.forgetOriginals();
    this.lists = Object.freeze(lists) as unknown as XdsResources;
    this.overallVersion = shortHash(RESOURCE_TYPES.map((t) => `${t.shortName}=${this.versions.get(t.typeUrl)}`).join('\n'));
  }

  /**
   * The content-hash version of one type's resources; without a type, the snapshot's overall
   * version, which changes whenever any type's does.
   */
  version(typeUrl?: TypeUrl): string {
    if (typeUrl === undefined) return this.overallVersion;
    return this.versions.get(resourceTypeOf(typeUrl).typeUrl)!;
  }

  /** Every type's version, by short name (LDS, RDS, ...). */
  versionsByType(): Record<string, string> {
    return Object.fromEntries(RESOURCE_TYPES.map((t) => [t.shortName, this.versions.get(t.typeUrl)!]));
  }

  /**
   * Each resource's version, by name: a content hash, so it is the same in every snapshot (and
   * every control-plane process) that holds the same resource. Delta xDS sends a resource only
   * when the version Envoy has differs.
   */
  resourceVersions(typeUrl: TypeUrl): ReadonlyMap<string, string> {
    return this.resourceVersionMaps.get(resourceTypeOf(typeUrl).typeUrl)!;
  }

  /** The snapshot's resources, in the order given (frozen copies), e.g. to derive a variant. */
  resources(): XdsResources {
    return this.lists;
  }

  /** The resources of one type, by name, sorted by name. Frozen. */
  resourceMap(typeUrl: TypeUrl): ReadonlyMap<string, object> {
    return this.byType.get(resourceTypeOf(typeUrl).typeUrl)!;
  }

  /**
   * The encoded resources of one type: all of them, or those of `names` that exist (a name the
   * snapshot lacks is skipped: in the state-of-the-world protocol Envoy keeps waiting for it).
   * Sorted by name, so the same snapshot and subscription always give the same response.
   */
  encodedResources(typeUrl: TypeUrl, names?: Iterable<string>): EncodedResource[] {
    const all = this.encodeType(resourceTypeOf(typeUrl));
    if (names === undefined) return [...all.values()];
    const wanted = [...new Set(names)].sort();
    return wanted.flatMap((name) => {
      const resource = all.get(name);
      return resource ? [resource] : [];
    });
  }

  /**
   * Lets this snapshot take the filter chains `earlier` encoded instead of encoding them again:
   * a chain with the same content digest is the same configuration, validated already. Only
   * before this snapshot's listeners are encoded; the earlier snapshot is not kept.
   */
  reuseEncodingsFrom(earlier: Snapshot | undefined): void {
    if (!earlier || earlier === this || this.encoded.has(LISTENER_TYPE_URL)) return;
    this.earlierFilterChains = earlier.filterChains;
  }

  /** Validates and encodes every resource (once); throws InvalidResourceError on the first bad one. */
  validate(): void {
    for (const type of RESOURCE_TYPES) this.encodeType(type);
  }

  /**
   * Every reference Envoy would resolve through ADS points at a resource in this snapshot:
   * RDS names in connection managers, EDS clusters' load assignments, SDS secrets in listeners
   * and clusters. Envoy would otherwise keep the referencing listener or cluster warming (and
   * not serving) until the missing resource shows up. Lists every missing name, not the first.
   */
  consistencyCheck(): void {
    const missing: MissingReference[] = [];
    const has = (typeUrl: TypeUrl, name: string) => this.byType.get(typeUrl)!.has(name);
    const need = (kind: MissingReference['kind'], typeUrl: TypeUrl, name: string, referencedBy: string) => {
      if (!has(typeUrl, name) && !missing.some((m) => m.kind === kind && m.name === name && m.referencedBy === referencedBy)) {
        missing.push({ kind, name, referencedBy });
      }
    };
    for (const [name, listener] of this.resourceMap(LISTENER_TYPE_URL)) {
      const who = `listener "${name}"`;
      const references = referencesOf(listener);
      for (const route of new Set(references.rds)) need('route', ROUTE_TYPE_URL, route, who);
      for (const secret of new Set(references.sds)) need('secret', SECRET_TYPE_URL, secret, who);
    }
    for (const [name, cluster] of this.resourceMap(CLUSTER_TYPE_URL)) {
      const who = `cluster "${name}"`;
      const eds = edsReference(name, cluster);
      if (eds !== undefined) need('endpoints', ENDPOINT_TYPE_URL, eds, who);
      for (const secret of new Set(referencesOf(cluster).sds)) need('secret', SECRET_TYPE_URL, secret, who);
    }
    if (missing.length > 0) throw new InconsistentSnapshotError(missing);
  }

  private encodeType(type: ResourceType): ReadonlyMap<string, EncodedResource> {
    let encoded = this.encoded.get(type.typeUrl);
    if (!encoded) {
      const map = new Map<string, EncodedResource>();
      const listeners = type.typeUrl === LISTENER_TYPE_URL;
      for (const [name, resource] of this.byType.get(type.typeUrl)!) {
        map.set(name, listeners ? encodeListener(resource, this.earlierFilterChains, this.filterChains, (chain) => this.copier?.digestOfCopy(chain)) : encodeResource(type.typeUrl, resource));
      }
      encoded = map;
      this.encoded.set(type.typeUrl, encoded);
      if (listeners) {
        this.earlierFilterChains = undefined;
        this.copier = undefined;
      }
    }
    return encoded;
  }
}

/**
 * A ConfigSource we serve: ADS, or `self` (the server that sent the referencing resource, which
 * is us). A reference through another source (a file, another management server) is not ours
 * to check.
 */
function servedByUs(configSource: unknown): boolean {
  if (!isObject(configSource)) return true;
  return configSource.ads !== undefined && configSource.ads !== null || configSource.self !== undefined && configSource.self !== null;
}

interface References {
  readonly rds: readonly string[];
  readonly sds: readonly string[];
}

const NO_REFERENCES: References = Object.freeze({ rds: Object.freeze([]), sds: Object.freeze([]) });

/**
 * References found inside frozen parts (array elements and embedded Anys), by the part itself.
 * A frozen object cannot change, so what it references never does; a snapshot built from a
 * translator that hands back unchanged filter chains (translator/filter-chain-memo.ts) looks
 * each of them up instead of walking ten thousand of them again. Weak: parts no snapshot holds
 * any more are collected with their entry.
 */
const frozenPartReferences = new WeakMap<object, References>();

/**
 * RDS names of every HttpConnectionManager and SDS names of every SdsSecretConfig (the only
 * message with both `name` and `sds_config`) anywhere in a resource, fetched through ADS.
 */
function referencesOf(resource: object): References {
  const rds: string[] = [];
  const sds: string[] = [];
  collect(resource, rds, sds);
  return { rds, sds };
}

function collect(value: unknown, rds: string[], sds: string[]): void {
  if (Array.isArray(value)) {
    for (const element of value) {
      if (!isObject(element)) {
        collect(element, rds, sds);
        continue;
      }
      const found = partReferences(element);
      for (const name of found.rds) rds.push(name);
      for (const name of found.sds) sds.push(name);
    }
  } else if (isObject(value)) {
    if (value['@type'] !== undefined) {
      const found = partReferences(value);
      for (const name of found.rds) rds.push(name);
      for (const name of found.sds) sds.push(name);
      return;
    }
    visit(value, rds, sds);
  }
}

/** The references inside one part, remembered when the part is frozen. */
function partReferences(part: Record<string, unknown>): References {
  const frozen = Object.isFrozen(part);
  const known = frozen ? frozenPartReferences.get(part) : undefined;
  if (known) return known;
  const rds: string[] = [];
  const sds: string[] = [];
  visit(part, rds, sds);
  const found = rds.length === 0 && sds.length === 0 ? NO_REFERENCES : { rds, sds };
  if (frozen) frozenPartReferences.set(part, found);
  return found;
}

function visit(node: Record<string, unknown>, rds: string[], sds: string[]): void {
  if (node['@type'] === HCM_TYPE_URL && isObject(node.rds)) {
    const name = node.rds.route_config_name;
    if (typeof name === 'string' && servedByUs(node.rds.config_source)) rds.push(name);
  }
  if (typeof node.name === 'string' && isObject(node.sds_config) && servedByUs(node.sds_config)) sds.push(node.name);
  for (const key in node) {
    const child = node[key];
    if (typeof child === 'object' && child !== null && !(child instanceof Uint8Array)) collect(child, rds, sds);
  }
}

/** The load-assignment name an EDS cluster waits for: eds_cluster_config.service_name, else its own name. */
function edsReference(clusterName: string, cluster: object): string | undefined {
  const c = cluster as Record<string, unknown>;
  if (c.type !== 'EDS') return undefined;
  const eds = isObject(c.eds_cluster_config) ? c.eds_cluster_config : {};
  if (!servedByUs(eds.eds_config)) return undefined;
  return typeof eds.service_name === 'string' && eds.service_name !== '' ? eds.service_name : clusterName;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * JSON with object keys sorted at every level, so that two resources equal in content hash the
 * same whatever order their fields were written in. Bytes are written as base64; undefined
 * fields are left out, as protobuf leaves out unset fields.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return JSON.stringify({ $bytes: Buffer.from(value).toString('base64') });
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  switch (typeof value) {
    case 'object': {
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    case 'string':
    case 'number':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString());
    default:
      throw new TypeError(`cannot hash a ${typeof value} in an xDS resource`);
  }
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, VERSION_HEX_DIGITS);
}
