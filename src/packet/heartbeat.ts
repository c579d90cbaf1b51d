/**
 * The p4cast heartbeat (docs/packet-formats.md): 24 bytes of UDP payload to
 * port 49374 over IPv4.
 *
 *   version(4) type(4) | flags(8) | origin id(16)
 *   sequence(32)
 *   origin timestamp(64)
 *   reflect timestamp(64)
 */
import { readU16, readU32, readU64, requireLength, requireUint, writeU16, writeU32, writeU64 } from "./bytes.js";

export const HEARTBEAT_LENGTH = 24;
export const HEARTBEAT_VERSION = 1;
/** 0xC0DE, in the IANA dynamic port range (RFC 6335). */
export const HEARTBEAT_UDP_PORT = 49374;
export const HeartbeatType = { REQUEST: 1, RESPONSE: 2 } as const;
/**
 * LINK: reflect out of the port the request came in on. STAMP: the requesting
 * switch's data plane puts its own timestamp into the origin timestamp as the
 * request leaves and measures the round trip when the response comes back
 * (hb_rtt, docs/packet-formats.md). REPORT: in the controller's request for
 * every peer (data-plane verdicts), each peer's copy reports the peer if it
 * is already judged down; the flag is cleared before the copy leaves.
 */
export const HeartbeatFlags = { LINK: 0x01, STAMP: 0x02, REPORT: 0x04 } as const;

export interface HeartbeatHeader {
  readonly version: number;
  readonly type: number;
  readonly flags: number;
  readonly originId: number;
  readonly sequence: number;
  readonly originTimestamp: bigint;
  readonly reflectTimestamp: bigint;
}

export interface HeartbeatSpec {
  readonly type: number;
  readonly sequence: number;
  readonly flags?: number;
  readonly originId?: number;
  readonly originTimestamp?: bigint;
  readonly reflectTimestamp?: bigint;
  readonly version?: number;
}

export function buildHeartbeat(spec: HeartbeatSpec): Uint8Array {
  const version = spec.version ?? HEARTBEAT_VERSION;
  requireUint(version, 4, "heartbeat", "version");
  requireUint(spec.type, 4, "heartbeat", "type");
  requireUint(spec.flags ?? 0, 8, "heartbeat", "flags");
  requireUint(spec.originId ?? 0, 16, "heartbeat", "originId");
  requireUint(spec.sequence, 32, "heartbeat", "sequence");
  const b = new Uint8Array(HEARTBEAT_LENGTH);
  b[0] = (version << 4) | spec.type;
  b[1] = spec.flags ?? 0;
  writeU16(b, 2, spec.originId ?? 0);
  writeU32(b, 4, spec.sequence);
  writeU64(b, 8, BigInt.asUintN(64, spec.originTimestamp ?? 0n));
  writeU64(b, 16, BigInt.asUintN(64, spec.reflectTimestamp ?? 0n));
  return b;
}

export function parseHeartbeat(bytes: Uint8Array): HeartbeatHeader {
  requireLength(bytes, HEARTBEAT_LENGTH, "heartbeat");
  return {
    version: (bytes[0] ?? 0) >>> 4,
    type: (bytes[0] ?? 0) & 0xf,
    flags: bytes[1] ?? 0,
    originId: readU16(bytes, 2),
    sequence: readU32(bytes, 4),
    originTimestamp: readU64(bytes, 8),
    reflectTimestamp: readU64(bytes, 16),
  };
}
