/**
 * P4Runtime bytestrings: big-endian binary strings carrying bit<W> and int<W>
 * values. The canonical form (the specification's "Bytestrings" section) is
 * the shortest string that holds the value (at least one byte, so zero is
 * "\x00"); the padded form has exactly ceil(W/8) bytes. Servers must accept
 * both; this client sends canonical strings unless asked otherwise.
 */
import { bigIntToBytes, bytesToBigInt } from "../../packet/address.js";
import { P4ValueError } from "../errors.js";

export type BytestringMode = "canonical" | "padded";

/** Bytes needed for a W-bit field: ceil(W/8), at least 1. */
export function byteWidth(bitwidth: number): number {
  return Math.max(1, Math.ceil(bitwidth / 8));
}

/** Largest value of an unsigned W-bit field. */
export function maxUnsigned(bitwidth: number): bigint {
  return (1n << BigInt(bitwidth)) - 1n;
}

/**
 * Encodes an unsigned value of a `bitwidth`-bit field. Throws P4ValueError
 * naming `field` when the value is negative or does not fit.
 */
export function encodeUnsigned(value: bigint, bitwidth: number, mode: BytestringMode = "canonical", field = "value"): Uint8Array {
  if (value < 0n) throw new P4ValueError(`${field}: negative value ${value} for an unsigned ${bitwidth}-bit field`, field);
  if (bitwidth > 0 && value > maxUnsigned(bitwidth)) {
    throw new P4ValueError(`${field}: value ${value} (0x${value.toString(16)}) does not fit in ${bitwidth} bits`, field);
  }
  const length = mode === "padded" ? byteWidth(bitwidth) : minimalLength(value);
  return bigIntToBytes(value, length);
}

/**
 * Encodes a signed int<W> value (two's complement, sign-extended padding).
 */
export function encodeSigned(value: bigint, bitwidth: number, mode: BytestringMode = "canonical", field = "value"): Uint8Array {
  const lo = -(1n << BigInt(bitwidth - 1));
  const hi = (1n << BigInt(bitwidth - 1)) - 1n;
  if (value < lo || value > hi) throw new P4ValueError(`${field}: value ${value} does not fit in int<${bitwidth}>`, field);
  let bits = 1;
  if (value !== 0n) {
    while (!(-(1n << BigInt(bits - 1)) <= value && value <= (1n << BigInt(bits - 1)) - 1n)) bits++;
  }
  const length = mode === "padded" ? byteWidth(bitwidth) : byteWidth(bits);
  const modulus = 1n << BigInt(length * 8);
  return bigIntToBytes(value < 0n ? modulus + value : value, length);
}

/**
 * Decodes an unsigned value. Leading zero bytes are accepted (padded form);
 * a value above the field's range is an error naming `field`.
 */
export function decodeUnsigned(bytes: Uint8Array, bitwidth?: number, field = "value"): bigint {
  const v = bytesToBigInt(bytes);
  if (bitwidth !== undefined && bitwidth > 0 && v > maxUnsigned(bitwidth)) {
    throw new P4ValueError(`${field}: bytestring 0x${hex(bytes)} does not fit in ${bitwidth} bits`, field);
  }
  return v;
}

/** Decodes a two's-complement value whose sign bit is the string's top bit. */
export function decodeSigned(bytes: Uint8Array, bitwidth: number, field = "value"): bigint {
  if (bytes.length === 0) return 0n;
  const raw = decodeUnsigned(bytes);
  const bits = BigInt(bytes.length * 8);
  const v = (bytes[0]! & 0x80) !== 0 ? raw - (1n << bits) : raw;
  const lo = -(1n << BigInt(bitwidth - 1));
  const hi = (1n << BigInt(bitwidth - 1)) - 1n;
  if (v < lo || v > hi) throw new P4ValueError(`${field}: bytestring 0x${hex(bytes)} does not fit in int<${bitwidth}>`, field);
  return v;
}

/** Re-encodes a received bytestring in canonical form (strips zero bytes). */
export function canonicalize(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  if (bytes.length === 0) return new Uint8Array([0]);
  return i === 0 ? bytes : bytes.slice(i);
}

/** Pads (or canonicalises then pads) to exactly ceil(W/8) bytes. */
export function pad(bytes: Uint8Array, bitwidth: number): Uint8Array {
  const c = canonicalize(bytes);
  const n = byteWidth(bitwidth);
  if (c.length > n) throw new P4ValueError(`bytestring 0x${hex(bytes)} does not fit in ${bitwidth} bits`);
  const out = new Uint8Array(n);
  out.set(c, n - c.length);
  return out;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

function minimalLength(value: bigint): number {
  if (value === 0n) return 1;
  let n = 0;
  for (let v = value; v > 0n; v >>= 8n) n++;
  return n;
}
