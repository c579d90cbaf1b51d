/**
 * Byte helpers shared by the packet modules, and the one error type they
 * throw. Pure: no I/O.
 */

/** Why a packet could not be built or parsed. */
export type PacketErrorKind = "truncated" | "invalid-field" | "invalid-address";

/** Thrown by every builder and parser in src/packet. */
export class PacketError extends Error {
  override readonly name = "PacketError";
  constructor(
    readonly kind: PacketErrorKind,
    /** The protocol layer, e.g. "ipv4". */
    readonly layer: string,
    message: string,
  ) {
    super(`${layer}: ${message}`);
  }
}

/** True for a {@link PacketError}, by name and shape rather than instanceof. */
export function isPacketError(value: unknown): value is PacketError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { name?: unknown; kind?: unknown; layer?: unknown };
  return v.name === "PacketError" && typeof v.kind === "string" && typeof v.layer === "string";
}

/** Throws a "truncated" error unless `bytes` holds at least `need` bytes. */
export function requireLength(bytes: Uint8Array, need: number, layer: string): void {
  if (bytes.length < need) {
    throw new PacketError("truncated", layer, `needs ${need} bytes, got ${bytes.length}`);
  }
}

/** Throws an "invalid-field" error unless 0 <= value < 2^bits (integer). */
export function requireUint(value: number, bits: number, layer: string, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new PacketError("invalid-field", layer, `${field} must be a ${bits}-bit unsigned integer, got ${value}`);
  }
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Hex string to bytes; spaces, colons, dashes and newlines are ignored. */
export function hexToBytes(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:-]/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new PacketError("invalid-field", "hex", `not an even-length hex string: ${hex}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes to lower-case hex without separators. */
export function bytesToHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function readU16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

export function readU32(bytes: Uint8Array, offset: number): number {
  return (
    (((bytes[offset] ?? 0) << 24) >>> 0) + (((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0))
  );
}

export function readU64(bytes: Uint8Array, offset: number): bigint {
  return (BigInt(readU32(bytes, offset)) << 32n) | BigInt(readU32(bytes, offset + 4));
}

export function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

export function writeU64(bytes: Uint8Array, offset: number, value: bigint): void {
  writeU32(bytes, offset, Number((value >> 32n) & 0xffffffffn));
  writeU32(bytes, offset + 4, Number(value & 0xffffffffn));
}
