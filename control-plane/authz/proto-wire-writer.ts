/**
 * A minimal protobuf wire-format writer for the one message the Check service answers with
 * on every request (check-response-encoder.ts). It writes into one reused scratch buffer and
 * returns the bytes already framed as a gRPC message, so an answer costs one small copy
 * instead of protobufjs' fromObject object tree, its writer's operation list and a second
 * copy for the frame.
 *
 * The output is byte for byte what protobufjs' BufferWriter writes for the same fields
 * (test/authz/check-response-encoder.test.ts compares them), including its one oddity: strings
 * shorter than 40 UTF-16 code units are encoded code unit by code unit, so a lone surrogate
 * becomes its own three bytes, while longer strings go through Buffer (where it becomes
 * U+FFFD). Keeping that keeps every answer identical to what was sent before.
 */

/** protobufjs' cut-over between its own UTF-8 loop and Buffer's. */
const SHORT_STRING = 40;

/** Larger than any CheckResponse: a denial's Status body is the biggest part, a few hundred bytes. */
const INITIAL_BYTES = 16 * 1024;

/** Where a length-delimited field's contents start, and the one byte reserved for its length. */
type Fork = number;

export class ProtoWireWriter {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES);
  private pos = 0;

  /** Starts a new message after room for the 5-byte gRPC frame header. */
  begin(): void {
    this.pos = 5;
  }

  /** The message as one gRPC length-prefixed frame, in a buffer of its own. */
  finishFrame(): Buffer {
    const length = this.pos - 5;
    this.buf[0] = 0;
    this.buf.writeUInt32BE(length, 1);
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  /** A varint field (int32 and enum values here are never negative). */
  uint32(field: number, value: number): void {
    this.ensure(10);
    this.varint((field << 3) | 0);
    this.varint(value);
  }

  string(field: number, value: string): void {
    if (value.length < SHORT_STRING) {
      // At most 3 bytes per code unit: under 128 bytes, so the length takes one byte.
      this.ensure(6 + value.length * 3);
      this.varint((field << 3) | 2);
      const start = this.pos++;
      this.shortUtf8(value);
      this.buf[start] = this.pos - start - 1;
      return;
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.ensure(10 + bytes);
    this.varint((field << 3) | 2);
    this.varint(bytes);
    this.pos += this.buf.write(value, this.pos, bytes, 'utf8');
  }

  /** Opens a length-delimited (message) field; close it with `end`. */
  fork(field: number): Fork {
    this.ensure(6);
    this.varint((field << 3) | 2);
    // One byte for the length; `end` makes room if the contents need more.
    return this.pos++;
  }

  end(fork: Fork): void {
    const length = this.pos - fork - 1;
    if (length < 0x80) {
      this.buf[fork] = length;
      return;
    }
    const extra = varintSize(length) - 1;
    this.ensure(extra);
    this.buf.copyWithin(fork + 1 + extra, fork + 1, this.pos);
    const end = this.pos + extra;
    this.pos = fork;
    this.varint(length);
    this.pos = end;
  }

  private varint(value: number): void {
    let v = value >>> 0;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  /** UTF-8 of each UTF-16 code unit, surrogate pairs joined, as protobufjs writes short strings. */
  private shortUtf8(value: string): void {
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < value.length; i++) {
      let c = value.charCodeAt(i);
      if (c < 0x80) {
        buf[pos++] = c;
      } else if (c < 0x800) {
        buf[pos++] = (c >> 6) | 0xc0;
        buf[pos++] = (c & 0x3f) | 0x80;
      } else {
        const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
        if ((c & 0xfc00) === 0xd800 && (next & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c & 0x3ff) << 10) + (next & 0x3ff);
          i++;
          buf[pos++] = (c >> 18) | 0xf0;
          buf[pos++] = ((c >> 12) & 0x3f) | 0x80;
        } else {
          buf[pos++] = (c >> 12) | 0xe0;
        }
        buf[pos++] = ((c >> 6) & 0x3f) | 0x80;
        buf[pos++] = (c & 0x3f) | 0x80;
      }
    }
    this.pos = pos;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
}

function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}
