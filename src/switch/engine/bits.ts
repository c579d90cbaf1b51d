/**
 * Integer helpers shared by the compilers. Values of up to NUM_FIELD_MAX bits
 * live as JS numbers (exact doubles); wider values are bigints.
 */
import { malformed } from "./errors.js";

/** Fields and action parameters of at most this width are held as numbers. */
export const NUM_FIELD_MAX = 48;
/** Largest magnitude (in bits) a number-typed intermediate may reach. */
export const SAFE_BITS = 53;

export type Val = number | bigint;

/** Parses a BMv2 "hexstr" (optionally negative, "0x" prefix optional). */
export function parseHex(s: unknown): bigint {
  if (typeof s === "number" && Number.isInteger(s)) return BigInt(s);
  if (typeof s !== "string") throw malformed(`expected hexstr, got ${JSON.stringify(s)}`);
  let t = s.trim();
  let neg = false;
  if (t.startsWith("-")) {
    neg = true;
    t = t.slice(1);
  }
  if (t.startsWith("0x") || t.startsWith("0X")) t = t.slice(2);
  if (t.length === 0 || !/^[0-9a-fA-F]+$/.test(t)) throw malformed(`bad hexstr ${JSON.stringify(s)}`);
  const v = BigInt(`0x${t}`);
  return neg ? -v : v;
}

/** Number of hex digits of a hexstr body, used for byte-padded values. */
export function hexBytes(s: string): number {
  let t = s.trim();
  if (t.startsWith("-")) t = t.slice(1);
  if (t.startsWith("0x") || t.startsWith("0X")) t = t.slice(2);
  return Math.ceil(t.length / 2);
}

export function bitLength(v: bigint): number {
  if (v < 0n) v = -v;
  return v === 0n ? 0 : v.toString(2).length;
}

export function maskOf(width: number): bigint {
  return (1n << BigInt(width)) - 1n;
}

/** Converts a bigint known to fit the storage class of `width` bits. */
export function toStore(v: bigint, width: number): Val {
  return width <= NUM_FIELD_MAX ? Number(v) : v;
}

export function toBig(v: Val): bigint {
  return typeof v === "bigint" ? v : BigInt(v);
}

/** Reads `width` bits starting at bit `bitOff` of `d` (big-endian) as bigint. */
export function readBitsBig(d: Uint8Array, bitOff: number, width: number): bigint {
  let v = 0n;
  const first = bitOff >> 3;
  const last = (bitOff + width - 1) >> 3;
  for (let i = first; i <= last; i++) v = (v << 8n) | BigInt(d[i] ?? 0);
  const tail = (last + 1) * 8 - (bitOff + width);
  return (v >> BigInt(tail)) & maskOf(width);
}

/** Reads up to 48 bits as an exact number (never forming more than 53 bits). */
export function readBitsNum(d: Uint8Array, bitOff: number, width: number): number {
  if (width === 0) return 0;
  const first = bitOff >> 3;
  const last = (bitOff + width - 1) >> 3;
  let v = (d[first] ?? 0) & (0xff >> (bitOff & 7));
  const used = ((bitOff + width - 1) & 7) + 1; // bits taken from the last byte
  if (first === last) return v >> (8 - used);
  for (let i = first + 1; i < last; i++) v = v * 256 + (d[i] ?? 0);
  return v * 2 ** used + ((d[last] ?? 0) >> (8 - used));
}

/** ORs `width` bits of unsigned `v` into the zeroed region of `out` at `bitOff`. */
export function writeBitsBig(out: Uint8Array, bitOff: number, width: number, v: bigint): void {
  if (width === 0) return;
  v &= maskOf(width);
  const last = (bitOff + width - 1) >> 3;
  const tail = (last + 1) * 8 - (bitOff + width);
  v <<= BigInt(tail);
  const first = bitOff >> 3;
  for (let i = last; i >= first; i--) {
    out[i] = (out[i]! | Number(v & 0xffn)) & 0xff;
    v >>= 8n;
  }
}

export function writeBitsNum(out: Uint8Array, bitOff: number, width: number, v: number): void {
  if (width === 0) return;
  if ((bitOff & 7) === 0 && (width & 7) === 0 && width <= 32) {
    // byte-aligned fast path
    let i = (bitOff >> 3) + (width >> 3) - 1;
    const first = bitOff >> 3;
    let x = v >>> 0;
    for (; i >= first; i--) {
      out[i] = out[i]! | (x & 0xff);
      x >>>= 8;
    }
    return;
  }
  if (width > 32 || (bitOff & 7) + width > 32) {
    writeBitsBig(out, bitOff, width, BigInt(v));
    return;
  }
  v = v % 2 ** width;
  if (v < 0) v += 2 ** width;
  const last = (bitOff + width - 1) >> 3;
  const tail = (last + 1) * 8 - (bitOff + width);
  let x = v * 2 ** tail;
  const first = bitOff >> 3;
  for (let i = last; i >= first; i--) {
    out[i] = out[i]! | (x % 256);
    x = Math.floor(x / 256);
  }
}

/** Two's complement helpers on exact numbers (any safe integer input). */
export function wrapU(v: number, width: number): number {
  if (width <= 31) return v & (2 ** width - 1);
  if (width === 32) return v >>> 0;
  const m = 2 ** width;
  const r = v % m;
  // A negative multiple of m leaves -0: + 0 makes it 0.
  return r < 0 ? r + m : r + 0;
}

export function wrapS(v: number, width: number): number {
  if (width <= 32) return (v << (32 - width)) >> (32 - width);
  const u = wrapU(v, width);
  return u >= 2 ** (width - 1) ? u - 2 ** width : u;
}

/** Bitwise ops on non-negative numbers of up to 53 bits. */
const P32 = 4294967296;
export function and53(a: number, b: number): number {
  return ((Math.floor(a / P32) & Math.floor(b / P32)) >>> 0) * P32 + (((a >>> 0) & (b >>> 0)) >>> 0);
}
export function or53(a: number, b: number): number {
  return ((Math.floor(a / P32) | Math.floor(b / P32)) >>> 0) * P32 + (((a >>> 0) | (b >>> 0)) >>> 0);
}
export function xor53(a: number, b: number): number {
  return ((Math.floor(a / P32) ^ Math.floor(b / P32)) >>> 0) * P32 + (((a >>> 0) ^ (b >>> 0)) >>> 0);
}

/** Formats a value as BMv2 does in log messages (decimal). */
export function fmt(v: Val | boolean): string {
  return typeof v === "boolean" ? (v ? "1" : "0") : v.toString();
}
