/**
 * The p4cast multicast shim (docs/packet-formats.md): 8 bytes after an outer
 * IPv4 header with protocol 253, before the original IP packet.
 *
 *   version(4) flags(4) | next header(8) | session id(16) | sequence(32)
 */
import { PacketError, readU16, readU32, requireLength, requireUint, writeU16, writeU32 } from "./bytes.js";

export const SHIM_LENGTH = 8;
export const SHIM_VERSION = 1;
export const ShimFlags = { OVERLAY: 0x1 } as const;

export interface ShimHeader {
  readonly version: number;
  readonly flags: number;
  /** 4 (IPv4) or 41 (IPv6): the packet that follows. */
  readonly nextHeader: number;
  readonly sessionId: number;
  readonly sequence: number;
}

export interface ShimSpec {
  readonly nextHeader: number;
  readonly sessionId: number;
  readonly sequence: number;
  readonly flags?: number;
  readonly version?: number;
}

export function buildShim(spec: ShimSpec): Uint8Array {
  const version = spec.version ?? SHIM_VERSION;
  const flags = spec.flags ?? 0;
  requireUint(version, 4, "shim", "version");
  requireUint(flags, 4, "shim", "flags");
  requireUint(spec.nextHeader, 8, "shim", "nextHeader");
  requireUint(spec.sessionId, 16, "shim", "sessionId");
  requireUint(spec.sequence, 32, "shim", "sequence");
  const b = new Uint8Array(SHIM_LENGTH);
  b[0] = (version << 4) | flags;
  b[1] = spec.nextHeader;
  writeU16(b, 2, spec.sessionId);
  writeU32(b, 4, spec.sequence);
  return b;
}

export function parseShim(bytes: Uint8Array): { header: ShimHeader; payload: Uint8Array } {
  requireLength(bytes, SHIM_LENGTH, "shim");
  const version = (bytes[0] ?? 0) >>> 4;
  if (version !== SHIM_VERSION) throw new PacketError("invalid-field", "shim", `version ${version} is not ${SHIM_VERSION}`);
  return {
    header: {
      version,
      flags: (bytes[0] ?? 0) & 0xf,
      nextHeader: bytes[1] ?? 0,
      sessionId: readU16(bytes, 2),
      sequence: readU32(bytes, 4),
    },
    payload: bytes.subarray(SHIM_LENGTH),
  };
}
