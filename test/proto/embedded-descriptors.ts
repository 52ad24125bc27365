/**
 * Reads the protobuf descriptors an Envoy binary was built with. Envoy links the serialized
 * FileDescriptorProto of every proto it compiles in, so the installed binary is the
 * authoritative answer to "which fields does this version's extension have".
 */
import * as protobuf from 'protobufjs';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const descriptor = require('protobufjs/ext/descriptor') as { FileDescriptorProto: protobuf.Type };

interface FieldDescriptor {
  name: string;
  number: number;
  type: number;
  label: number;
  typeName?: string;
}
interface MessageDescriptor {
  name: string;
  field?: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
}
interface FileDescriptor {
  package?: string;
  messageType?: MessageDescriptor[];
}

/** name/number/type/label/type name of one field, comparable between the two sources. */
export type FieldSignature = string;
export type MessageSignatures = Record<string, Record<string, FieldSignature>>;

function readVarint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let factor = 1;
  for (;;) {
    const b = buf[pos++];
    result += (b & 0x7f) * factor;
    if ((b & 0x80) === 0) return [result, pos];
    factor *= 128;
  }
}

// FileDescriptorProto fields and their wire types: used to find where an embedded one ends.
const FILE_DESCRIPTOR_WIRE: Record<number, number> = { 1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 2, 7: 2, 8: 2, 9: 2, 10: 0, 11: 0, 12: 2, 14: 0 };

/** The embedded descriptor of proto file `name` (e.g. envoy/…/reverse_tunnel.proto), if any. */
export function embeddedFileDescriptor(binary: Buffer, name: string): FileDescriptor | undefined {
  const needle = Buffer.concat([Buffer.from([0x0a, name.length]), Buffer.from(name)]);
  for (let at = binary.indexOf(needle); at >= 0; at = binary.indexOf(needle, at + 1)) {
    let pos = at;
    for (;;) {
      const [tag, p] = readVarint(binary, pos);
      const wire = FILE_DESCRIPTOR_WIRE[Math.floor(tag / 8)];
      if (wire === undefined || wire !== (tag & 7)) break;
      if ((tag & 7) === 2) {
        const [len, q] = readVarint(binary, p);
        pos = q + len;
      } else pos = readVarint(binary, p)[1];
    }
    try {
      return descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(binary.subarray(at, pos)), { defaults: false }) as FileDescriptor;
    } catch {
      // A string that happens to look like the start of one; try the next occurrence.
    }
  }
  return undefined;
}

export function messageSignatures(file: FileDescriptor): MessageSignatures {
  const out: MessageSignatures = {};
  const walk = (prefix: string, m: MessageDescriptor) => {
    const full = `${prefix}.${m.name}`;
    out[full] = Object.fromEntries((m.field ?? []).map((f) => [f.name, `${f.number}/${f.type}/${f.label}/${(f.typeName ?? '').replace(/^\./, '')}`]));
    for (const n of m.nestedType ?? []) walk(full, n);
  };
  for (const m of file.messageType ?? []) walk(file.package ?? '', m);
  return out;
}

const TYPE_CODES: Record<string, number> = {
  double: 1, float: 2, int64: 3, uint64: 4, int32: 5, fixed64: 6, fixed32: 7, bool: 8, string: 9, bytes: 12, uint32: 13, sfixed32: 15, sfixed64: 16, sint32: 17, sint64: 18,
};

/** The same signatures, from a message protobufjs loaded. */
export function loadedSignature(type: protobuf.Type): Record<string, FieldSignature> {
  return Object.fromEntries(
    type.fieldsArray.map((f) => {
      f.resolve();
      const code = f.resolvedType instanceof protobuf.Enum ? 14 : f.resolvedType ? 11 : TYPE_CODES[f.type];
      const typeName = f.resolvedType ? f.resolvedType.fullName.replace(/^\./, '') : '';
      return [f.name, `${f.id}/${code}/${f.repeated ? 3 : 1}/${typeName}`];
    }),
  );
}

/** Differences between Envoy's fields of `message` and kubegate's, as readable lines. */
export function signatureProblems(
  message: string,
  envoy: Record<string, FieldSignature>,
  mine: Record<string, FieldSignature>,
  omitted: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  for (const [field, signature] of Object.entries(envoy)) {
    if (omitted.includes(field)) continue;
    if (mine[field] !== signature) problems.push(`${message}.${field}: Envoy ${signature}, kubegate ${mine[field] ?? 'missing'}`);
  }
  for (const field of Object.keys(mine)) if (!(field in envoy)) problems.push(`${message}.${field}: not in Envoy`);
  return problems;
}
