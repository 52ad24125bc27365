/**
 * Strict validation of xDS resources against Envoy's protos, then encoding to
 * google.protobuf.Any.
 *
 * protobufjs' fromObject is forgiving by design: an unknown field is dropped, a misspelt enum
 * name becomes 0, a string where a number belongs is coerced, and an Any whose '@type' it cannot
 * resolve is encoded as an empty Any. Each of those would turn a translator bug into
 * configuration that Envoy silently interprets differently (or NACKs, far from the cause). So
 * every resource is first walked against its protobufjs Type and anything fromObject would
 * quietly alter is refused, naming the resource and the JSON path of the offending field.
 */
import * as protobuf from 'protobufjs';
import { envoyProtos } from '../proto/envoy-protos';
import type { XdsResources } from './resources';
import { LISTENER_TYPE_URL, RESOURCE_TYPES, resourceName, resourceTypeByUrl, type ResourceType } from './resource-types';
import { contentDigest } from './content-digest';

export type InvalidResourceCode =
  | 'ERR_XDS_UNKNOWN_FIELD'
  | 'ERR_XDS_WRONG_KIND'
  | 'ERR_XDS_UNKNOWN_ENUM'
  | 'ERR_XDS_UNKNOWN_TYPE'
  | 'ERR_XDS_ONEOF_CONFLICT'
  | 'ERR_XDS_OUT_OF_RANGE'
  | 'ERR_XDS_MISSING_NAME'
  | 'ERR_XDS_DUPLICATE_NAME';

/** A resource that does not match Envoy's protos (or, for snapshots, is unnamed or named twice). */
export class InvalidResourceError extends Error {
  constructor(
    readonly code: InvalidResourceCode,
    /** LDS, RDS, CDS, EDS or SDS. */
    readonly resourceType: string,
    /** The resource's name; '' when it has none. */
    readonly resourceName: string,
    /** JSON path of the offending field inside the resource, e.g. $.filter_chains[0].filters[0]. */
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${resourceType} resource ${resourceName ? `"${resourceName}"` : '(unnamed)'}: ${path}: ${detail}`);
    this.name = 'InvalidResourceError';
  }
}

export interface EncodedResource {
  readonly type_url: string;
  readonly value: Buffer;
}

const ANY = '.google.protobuf.Any';
const DURATION = '.google.protobuf.Duration';
const WRAPPER = /^\.google\.protobuf\.(Bool|String|Bytes|Double|Float|U?Int(32|64))Value$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

type Path = readonly (string | number)[];

function formatPath(path: Path): string {
  let out = '$';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (IDENTIFIER.test(part)) out += `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${String(value)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** Walks one resource; `fail` builds the error with the resource's identity filled in. */
class Walker {
  constructor(
    private readonly root: protobuf.Root,
    private readonly fail: (code: InvalidResourceCode, path: Path, detail: string) => never,
  ) {}

  message(type: protobuf.Type, value: unknown, path: Path): void {
    if (fullNameOf(type) === ANY) return this.any(value, path);
    if (!isPlainObject(value)) {
      // protobufjs (unlike proto3 JSON) wants wrappers as messages: { value: true }, not true.
      const hint = WRAPPER.test(type.fullName) && typeof value !== 'object' ? `; write wrappers as { value: ${JSON.stringify(value)} }` : '';
      this.fail('ERR_XDS_WRONG_KIND', path, `expected an object (message ${bare(type)}), got ${describe(value)}${hint}`);
    }
    const oneofMembers = new Map<string, string>();
    for (const [key, fieldValue] of Object.entries(value)) {
      // fromObject treats null and undefined as "not set", and so does the YAML the golden files use.
      if (fieldValue === undefined || fieldValue === null) continue;
      const field = Object.prototype.hasOwnProperty.call(type.fields, key) ? type.fields[key] : undefined;
      if (!field) this.fail('ERR_XDS_UNKNOWN_FIELD', [...path, key], `unknown field "${key}" in ${bare(type)}${suggestion(type, key)}`);
      const oneof = field.partOf;
      if (oneof) {
        const other = oneofMembers.get(oneof.name);
        if (other !== undefined) {
          this.fail('ERR_XDS_ONEOF_CONFLICT', [...path, key], `fields "${other}" and "${key}" are both set, but they belong to oneof "${oneof.name}" of ${bare(type)}`);
        }
        oneofMembers.set(oneof.name, key);
      }
      this.field(field, fieldValue, [...path, key]);
    }
    if (fullNameOf(type) === DURATION) this.duration(value, path);
  }

  private field(field: protobuf.Field, value: unknown, path: Path): void {
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(value)) this.fail('ERR_XDS_WRONG_KIND', path, `expected an object (map<${field.keyType}, ${field.type}>), got ${describe(value)}`);
      for (const [key, entry] of Object.entries(value)) {
        this.mapKey(field.keyType, key, [...path, key]);
        if (entry === undefined || entry === null) this.fail('ERR_XDS_WRONG_KIND', [...path, key], 'map values may not be null');
        this.single(field, entry, [...path, key]);
      }
      return;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) this.fail('ERR_XDS_WRONG_KIND', path, `expected an array (repeated ${field.type}), got ${describe(value)}`);
      value.forEach((element, i) => {
        if (element === undefined || element === null) this.fail('ERR_XDS_WRONG_KIND', [...path, i], 'repeated fields may not contain null');
        this.single(field, element, [...path, i]);
      });
      return;
    }
    this.single(field, value, path);
  }

  private single(field: protobuf.Field, value: unknown, path: Path): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.message(resolved, value, path);
    if (resolved instanceof protobuf.Enum) return this.enumValue(resolved, value, path);
    this.scalar(field.type, value, path);
  }

  private enumValue(enumType: protobuf.Enum, value: unknown, path: Path): void {
    if (typeof value === 'string') {
      if (!Object.prototype.hasOwnProperty.call(enumType.values, value)) {
        const names = Object.keys(enumType.values);
        const listed = names.length <= 12 ? `: one of ${names.join(', ')}` : '';
        this.fail('ERR_XDS_UNKNOWN_ENUM', path, `"${value}" is not a value of enum ${bare(enumType)}${listed}`);
      }
      return;
    }
    if (typeof value === 'number') {
      if (!Object.values(enumType.values).includes(value)) this.fail('ERR_XDS_UNKNOWN_ENUM', path, `${value} is not a value of enum ${bare(enumType)}`);
      return;
    }
    this.fail('ERR_XDS_WRONG_KIND', path, `expected an enum name (${bare(enumType)}), got ${describe(value)}`);
  }

  private scalar(kind: string, value: unknown, path: Path): void {
    const wrong = (expected: string): never => this.fail('ERR_XDS_WRONG_KIND', path, `expected ${expected}, got ${describe(value)}`);
    switch (kind) {
      case 'string':
        if (typeof value !== 'string') wrong('a string');
        return;
      case 'bool':
        if (typeof value !== 'boolean') wrong('a boolean');
        return;
      case 'double':
      case 'float':
        if (typeof value === 'number' || value === 'NaN' || value === 'Infinity' || value === '-Infinity') return;
        return wrong(`a number (${kind})`);
      case 'int32':
      case 'sint32':
      case 'sfixed32':
        return this.integer(value, path, kind, -(2 ** 31), 2 ** 31 - 1);
      case 'uint32':
      case 'fixed32':
        return this.integer(value, path, kind, 0, 2 ** 32 - 1);
      case 'int64':
      case 'sint64':
      case 'sfixed64':
        return this.integer64(value, path, kind, INT64_MIN, INT64_MAX);
      case 'uint64':
      case 'fixed64':
        return this.integer64(value, path, kind, 0n, UINT64_MAX);
      case 'bytes':
        if (value instanceof Uint8Array) return;
        if (typeof value === 'string' && BASE64.test(value)) return;
        return wrong('bytes (a Buffer or a base64 string)');
      default:
        return this.fail('ERR_XDS_UNKNOWN_TYPE', path, `field type "${kind}" could not be resolved`);
    }
  }

  private integer(value: unknown, path: Path, kind: string, min: number, max: number): void {
    if (typeof value !== 'number' || !Number.isInteger(value)) this.fail('ERR_XDS_WRONG_KIND', path, `expected an integer (${kind}), got ${describe(value)}`);
    if (value < min || value > max) this.fail('ERR_XDS_OUT_OF_RANGE', path, `${value} is out of range for ${kind}`);
  }

  /** 64-bit integers: a safe integer number, a decimal string, or a Long-like {low, high}. */
  private integer64(value: unknown, path: Path, kind: string, min: bigint, max: bigint): void {
    let big: bigint;
    if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
    else if (typeof value === 'string' && /^-?\d+$/.test(value)) big = BigInt(value);
    else if (isPlainObject(value) && typeof value.low === 'number' && typeof value.high === 'number') return;
    else return this.fail('ERR_XDS_WRONG_KIND', path, `expected an integer (${kind}) as a safe integer or a decimal string, got ${describe(value)}`);
    if (big < min || big > max) this.fail('ERR_XDS_OUT_OF_RANGE', path, `${String(value)} is out of range for ${kind}`);
  }

  private mapKey(keyType: string, key: string, path: Path): void {
    switch (keyType) {
      case 'string':
        return;
      case 'bool':
        if (key !== 'true' && key !== 'false') this.fail('ERR_XDS_WRONG_KIND', path, `map key "${key}" is not a bool`);
        return;
      default:
        if (!/^-?\d+$/.test(key)) this.fail('ERR_XDS_WRONG_KIND', path, `map key "${key}" is not an integer (${keyType})`);
    }
  }

  /**
   * An Any names its payload with '@type' (protobufjs encodes the rest of the object as that
   * message), or is already encoded as { type_url, value }. Either way the type must be one
   * of the loaded Envoy protos: otherwise protobufjs would encode an empty Any.
   */
  private any(value: unknown, path: Path): void {
    if (!isPlainObject(value)) this.fail('ERR_XDS_WRONG_KIND', path, `expected an object (google.protobuf.Any), got ${describe(value)}`);
    const typeName = value['@type'];
    if (typeName !== undefined) {
      if (typeof typeName !== 'string') this.fail('ERR_XDS_WRONG_KIND', [...path, '@type'], `expected a type URL string, got ${describe(typeName)}`);
      const inner = this.lookupAnyType(typeName, [...path, '@type']);
      const { '@type': _ignored, ...fields } = value;
      this.message(inner, fields, path);
      return;
    }
    if (value.type_url !== undefined) {
      const { type_url: typeUrl, value: bytes, ...rest } = value;
      const extra = Object.keys(rest)[0];
      if (extra !== undefined) this.fail('ERR_XDS_UNKNOWN_FIELD', [...path, extra], `unknown field "${extra}" in an encoded google.protobuf.Any (only type_url and value)`);
      if (typeof typeUrl !== 'string') this.fail('ERR_XDS_WRONG_KIND', [...path, 'type_url'], `expected a type URL string, got ${describe(typeUrl)}`);
      this.lookupAnyType(typeUrl, [...path, 'type_url']);
      if (bytes !== undefined && !(bytes instanceof Uint8Array)) this.fail('ERR_XDS_WRONG_KIND', [...path, 'value'], `expected bytes, got ${describe(bytes)}`);
      return;
    }
    this.fail('ERR_XDS_UNKNOWN_TYPE', path, "a google.protobuf.Any must name its message with '@type': 'type.googleapis.com/<full.name>'");
  }

  private lookupAnyType(typeUrl: string, path: Path): protobuf.Type {
    const slash = typeUrl.lastIndexOf('/');
    if (slash < 0) this.fail('ERR_XDS_UNKNOWN_TYPE', path, `"${typeUrl}" is not a type URL (expected type.googleapis.com/<full.name>)`);
    const name = typeUrl.slice(slash + 1);
    let found: protobuf.ReflectionObject | null = null;
    try {
      found = name ? this.root.lookup(name) : null;
    } catch {
      found = null;
    }
    if (!(found instanceof protobuf.Type)) {
      this.fail('ERR_XDS_UNKNOWN_TYPE', path, `"${typeUrl}" is not a message type in the loaded Envoy protos (misspelt, or its .proto is missing from control-plane/proto/envoy-protos.ts)`);
    }
    return found;
  }

  /** protobufjs would encode an out-of-range nanos happily; Envoy then NACKs the whole resource. */
  private duration(value: Record<string, unknown>, path: Path): void {
    const nanos = value.nanos;
    if (typeof nanos === 'number' && Math.abs(nanos) > 999_999_999) {
      this.fail('ERR_XDS_OUT_OF_RANGE', [...path, 'nanos'], `Duration nanos ${nanos} is outside ±999999999; carry whole seconds in "seconds"`);
    }
  }
}

/**
 * protobufjs computes fullName from the parent chain on every read; the walker asks twice per
 * message it visits, which showed when validating ten thousand filter chains.
 */
const fullNames = new WeakMap<protobuf.Type, string>();
function fullNameOf(type: protobuf.Type): string {
  let name = fullNames.get(type);
  if (name === undefined) {
    name = type.fullName;
    fullNames.set(type, name);
  }
  return name;
}

function bare(t: protobuf.ReflectionObject): string {
  return t.fullName.replace(/^\./, '');
}

/**
 * A hint for the most common slip: the other naming convention. Envoy's messages keep the
 * protos' snake_case, but protobufjs' bundled well-known types (google.protobuf.Value, ...) are
 * camelCase, and the loaded Root is what decides what gets encoded.
 */
function suggestion(type: protobuf.Type, key: string): string {
  const snake = key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
  const camel = key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  for (const candidate of [snake, camel]) {
    if (candidate !== key && Object.prototype.hasOwnProperty.call(type.fields, candidate)) return ` (did you mean "${candidate}"?)`;
  }
  return '';
}

function messageType(type: ResourceType): protobuf.Type {
  return envoyProtos().lookupType(type.messageName);
}

function typeFor(typeUrl: string): ResourceType {
  const type = resourceTypeByUrl(typeUrl);
  if (!type) throw new Error(`not an xDS resource type kubegate serves: ${typeUrl}`);
  return type;
}

/** Throws InvalidResourceError if the resource would not encode exactly as written. */
export function validateResource(typeUrl: string, resource: object): void {
  const type = typeFor(typeUrl);
  const name = resourceName(type, resource) ?? '';
  const fail = (code: InvalidResourceCode, path: Path, detail: string): never => {
    throw new InvalidResourceError(code, type.shortName, name, formatPath(path), detail);
  };
  if (!name) fail('ERR_XDS_MISSING_NAME', [type.nameField], `a ${type.shortName} resource needs a non-empty "${type.nameField}"`);
  new Walker(envoyProtos().root, fail).message(messageType(type), resource, []);
}

/** Validates, then encodes the resource as the Any that goes into a DiscoveryResponse. */
export function encodeResource(typeUrl: string, resource: object): EncodedResource {
  validateResource(typeUrl, resource);
  const message = messageType(typeFor(typeUrl));
  const value = message.encode(message.fromObject(resource as Record<string, unknown>)).finish();
  return Object.freeze({ type_url: typeUrl, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength) });
}

/**
 * Encoded filter chains by content digest (content-digest.ts): what one snapshot's listeners
 * were built from, so the next snapshot encodes only the chains that are new.
 */
export type EncodedFilterChains = ReadonlyMap<string, Buffer>;

/**
 * encodeResource for a listener, one filter chain at a time. The edge's listener has a chain
 * per user; a revocation changes one of them. A chain found in `reuse` by its content digest was
 * validated and encoded before and is taken as it is; every other chain is validated (errors
 * name the listener and the path from it, as encodeResource's do) and encoded once. The
 * listener's bytes are its other fields followed by the chains as repeated field entries, which
 * protobuf reads exactly as if they had been encoded together. Every chain used is put into
 * `used`, for the next snapshot.
 */
export function encodeListener(
  resource: object,
  reuse: EncodedFilterChains | undefined,
  used: Map<string, Buffer>,
  /** The chain's digest when already known (taken while copying it); computed otherwise. */
  knownDigest: (chain: object) => string | undefined = () => undefined,
): EncodedResource {
  const { filter_chains: chains, ...rest } = resource as Record<string, unknown>;
  // Anything unusual (no chains, not an array, a null element) takes the ordinary path, whose
  // errors are already exact.
  if (!Array.isArray(chains) || chains.length === 0 || chains.some((c) => c === null || c === undefined)) return encodeResource(LISTENER_TYPE_URL, resource);
  const type = typeFor(LISTENER_TYPE_URL);
  validateResource(LISTENER_TYPE_URL, rest);
  const listener = messageType(type);
  const chainField = listener.fields['filter_chains']!;
  const chainType = chainField.resolve().resolvedType as protobuf.Type;
  const name = resourceName(type, resource) ?? '';
  const writer = listener.encode(listener.fromObject(rest));
  const tag = (chainField.id << 3) | 2; // length-delimited
  chains.forEach((chain: unknown, index: number) => {
    const digest = knownDigest(chain as object) ?? contentDigest(chain);
    let bytes = used.get(digest) ?? reuse?.get(digest);
    if (bytes === undefined) {
      const fail = (code: InvalidResourceCode, path: Path, detail: string): never => {
        throw new InvalidResourceError(code, type.shortName, name, formatPath(path), detail);
      };
      new Walker(envoyProtos().root, fail).message(chainType, chain, ['filter_chains', index]);
      const encoded = chainType.encode(chainType.fromObject(chain as Record<string, unknown>)).finish();
      bytes = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    }
    used.set(digest, bytes);
    writer.uint32(tag).bytes(bytes);
  });
  const value = writer.finish();
  return Object.freeze({ type_url: LISTENER_TYPE_URL, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength) });
}

/** Validates every resource of every type; throws the first InvalidResourceError found. */
export function validateResources(resources: XdsResources): void {
  for (const type of RESOURCE_TYPES) {
    for (const resource of resources[type.kind]) validateResource(type.typeUrl, resource);
  }
}
