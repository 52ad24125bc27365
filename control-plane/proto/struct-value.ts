/**
 * google.protobuf.Struct in its wire-object form, built from and read back into plain JSON.
 *
 * Field names are camelCase here (stringValue, not string_value) although the rest of kubegate's
 * proto objects keep snake_case: protobufjs supplies the well-known google/protobuf types from
 * its own bundled definitions, which are written in camelCase, and keepCase does not rename them.
 */
export type StructValue = { fields: Record<string, ProtoValue> };
export type ProtoValue =
  | { nullValue: 'NULL_VALUE' }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: StructValue }
  | { listValue: { values: ProtoValue[] } };

export function toProtoValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toProtoValue) } };
  return { structValue: toStruct(v as Record<string, unknown>) };
}

export function toStruct(obj: Record<string, unknown>): StructValue {
  const fields: Record<string, ProtoValue> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) fields[k] = toProtoValue(v);
  return { fields };
}

export function fromProtoValue(v: Record<string, unknown> | undefined): unknown {
  if (!v) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('numberValue' in v) return Number(v.numberValue);
  if ('boolValue' in v) return v.boolValue;
  if ('nullValue' in v) return null;
  if ('listValue' in v) return ((v.listValue as { values?: Record<string, unknown>[] }).values ?? []).map(fromProtoValue);
  if ('structValue' in v) return fromStruct(v.structValue as StructValue);
  return undefined;
}

export function fromStruct(s: { fields?: Record<string, unknown> } | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = fromProtoValue(v as Record<string, unknown>);
  return out;
}
