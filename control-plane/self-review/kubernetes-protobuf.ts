/**
 * Reads one field out of a Kubernetes protobuf body, without the Kubernetes types: kubectl
 * sends some requests (a SelfSubjectRulesReview among them) as protobuf, and the rules review's
 * answer does not repeat the namespace it was asked about. The wire format is Kubernetes'
 * envelope (the magic "k8s\0", then runtime.Unknown, whose field 2 holds the object) around
 * ordinary protobuf; protobufjs's Reader walks it.
 */
import { Reader } from 'protobufjs';

const MAGIC = Buffer.from('k8s\0', 'latin1');
/** runtime.Unknown's `raw` field: the object's own bytes. */
const UNKNOWN_RAW = 2;
const LENGTH_DELIMITED = 2;

export function isKubernetesProtobuf(body: Buffer): boolean {
  return body.length >= MAGIC.length && body.subarray(0, MAGIC.length).equals(MAGIC);
}

/** The bytes of the length-delimited field `field` of a protobuf message, or undefined. */
function lengthDelimited(message: Uint8Array, field: number): Uint8Array | undefined {
  const reader = Reader.create(message);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === field && (tag & 7) === LENGTH_DELIMITED) return reader.bytes();
    reader.skipType(tag & 7);
  }
  return undefined;
}

/**
 * The string at `path` (field numbers, outermost first) of the object in a Kubernetes protobuf
 * body; '' for an absent field (protobuf's default); undefined when the body is not one.
 */
export function kubernetesProtobufString(body: Buffer, path: readonly number[]): string | undefined {
  if (!isKubernetesProtobuf(body)) return undefined;
  try {
    let message = lengthDelimited(body.subarray(MAGIC.length), UNKNOWN_RAW);
    if (message === undefined) return undefined;
    for (const field of path) {
      message = lengthDelimited(message, field);
      if (message === undefined) return '';
    }
    return Buffer.from(message).toString('utf8');
  } catch {
    return undefined;
  }
}
