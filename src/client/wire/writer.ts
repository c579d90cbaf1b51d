/**
 * A protobuf binary writer for the table-entry encoder: one growable byte
 * buffer, varints written in place, and nested messages length-prefixed by
 * reserving one byte and moving the body in the rare case it is 128 bytes
 * or longer, with the field order and varint forms protobuf's encoding
 * takes.
 *
 * Values outside a field's range are not encoded here: `Unencodable` is
 * thrown, and the encoder declines the input (the general encoder then
 * reports it).
 */

/** Thrown when a value is outside what this writer encodes; the encoder declines the input. */
export class Unencodable extends Error {
  override readonly name = "Unencodable";
}

export const WT_VARINT = 0;
export const WT_LEN = 2;

const TWO_32 = 0x1_0000_0000n;
const MIN_I64 = -0x8000_0000_0000_0000n;
const MAX_I64 = 0x7fff_ffff_ffff_ffffn;

/** Bytes taken by the varint of an unsigned 32-bit value. */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x20_0000 ? 3 : v < 0x1000_0000 ? 4 : 5;
}

export class WireWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** An unsigned 32-bit varint (the caller checked the range). */
  varint(v: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** A varint of an unsigned 64-bit bigint (0 ≤ v < 2^64). */
  varintBig(v: bigint): void {
    if (v < TWO_32) {
      this.varint(Number(v));
      return;
    }
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    while (v > 0x7fn) {
      b[p++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    b[p++] = Number(v);
    this.pos = p;
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** uint32 field (implicit presence: 0 is not written). */
  uint32(field: number, v: number): void {
    if (v === 0) return;
    this.uint32Always(field, v);
  }

  /** uint32 value that is written even when 0 (oneof members). */
  uint32Always(field: number, v: number): void {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new Unencodable(`uint32 ${String(v)}`);
    this.tag(field, WT_VARINT);
    this.varint(v);
  }

  /** int32 or enum field; negative values take ten bytes, as in protobuf. */
  int32(field: number, v: number): void {
    if (v === 0) return;
    this.int32Always(field, v);
  }

  int32Always(field: number, v: number): void {
    if (typeof v !== "number" || !Number.isInteger(v) || v < -0x8000_0000 || v > 0x7fff_ffff) throw new Unencodable(`int32 ${String(v)}`);
    this.tag(field, WT_VARINT);
    if (v >= 0) this.varint(v);
    else this.varintBig(BigInt.asUintN(64, BigInt(v)));
  }

  int64(field: number, v: bigint): void {
    if (v === 0n) return;
    if (typeof v !== "bigint" || v < MIN_I64 || v > MAX_I64) throw new Unencodable(`int64 ${String(v)}`);
    this.tag(field, WT_VARINT);
    this.varintBig(v < 0n ? BigInt.asUintN(64, v) : v);
  }

  bool(field: number, v: boolean): void {
    if (v === false) return;
    if (v !== true) throw new Unencodable(`bool ${String(v)}`);
    this.tag(field, WT_VARINT);
    this.varint(1);
  }

  /** bytes field (implicit presence: empty is not written). */
  bytes(field: number, v: Uint8Array): void {
    if (!(v instanceof Uint8Array)) throw new Unencodable("bytes value is not a Uint8Array");
    if (v.byteLength === 0) return;
    this.bytesAlways(field, v);
  }

  bytesAlways(field: number, v: Uint8Array): void {
    if (!(v instanceof Uint8Array)) throw new Unencodable("bytes value is not a Uint8Array");
    this.tag(field, WT_LEN);
    this.varint(v.byteLength);
    this.raw(v);
  }

  raw(v: Uint8Array): void {
    const n = v.byteLength;
    this.ensure(n);
    if (n < 16) {
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) b[p++] = v[i]!;
      this.pos = p;
    } else {
      this.buf.set(v, this.pos);
      this.pos += n;
    }
  }

  /** Starts a length-delimited field; returns the mark for `join`. */
  fork(field: number): number {
    this.tag(field, WT_LEN);
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the field begun by `fork`: writes its length before the body. */
  join(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    const n = varintSize(len);
    this.ensure(n - 1);
    this.buf.copyWithin(mark + n, mark + 1, this.pos);
    this.pos += n - 1;
    let p = mark;
    let v = len;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }

  /** A copy of what was written. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
