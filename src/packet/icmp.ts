/**
 * ICMP for IPv4 (RFC 792): the checksum covers the ICMP message only (no
 * pseudo-header). Echo request/reply helpers; other types as raw messages.
 */
import { concatBytes, readU16, requireLength, requireUint, writeU16 } from "./bytes.js";
import { checksumVerifies, internetChecksum } from "./checksum.js";

export const ICMP_HEADER_LENGTH = 8;

export const IcmpType = { ECHO_REPLY: 0, DEST_UNREACHABLE: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11 } as const;

/** The common 8-byte ICMP/ICMPv6 header; `rest` is the type-specific 4th word. */
export interface IcmpHeader {
  readonly type: number;
  readonly code: number;
  readonly checksum: number;
  readonly rest: number;
}

export interface IcmpSpec {
  readonly type: number;
  readonly code?: number;
  readonly rest?: number;
  readonly checksum?: number;
}

/** Echo identifier and sequence packed into `rest`. */
export function echoRest(identifier: number, sequence: number): number {
  requireUint(identifier, 16, "icmp", "identifier");
  requireUint(sequence, 16, "icmp", "sequence");
  return ((identifier << 16) >>> 0) + sequence;
}

/** Identifier and sequence of an echo message's `rest`. */
export function echoFields(rest: number): { identifier: number; sequence: number } {
  return { identifier: rest >>> 16, sequence: rest & 0xffff };
}

/** The 8-byte header with a zero checksum, followed by body. */
export function icmpMessageWithoutChecksum(spec: IcmpSpec, body: Uint8Array): Uint8Array {
  requireUint(spec.type, 8, "icmp", "type");
  requireUint(spec.code ?? 0, 8, "icmp", "code");
  requireUint(spec.rest ?? 0, 32, "icmp", "rest");
  const h = new Uint8Array(ICMP_HEADER_LENGTH);
  h[0] = spec.type;
  h[1] = spec.code ?? 0;
  const rest = spec.rest ?? 0;
  writeU16(h, 4, rest >>> 16);
  writeU16(h, 6, rest & 0xffff);
  return concatBytes(h, body);
}

export function buildIcmp(spec: IcmpSpec, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const msg = icmpMessageWithoutChecksum(spec, body);
  const checksum = spec.checksum ?? internetChecksum(msg);
  requireUint(checksum, 16, "icmp", "checksum");
  writeU16(msg, 2, checksum);
  return msg;
}

export function parseIcmp(bytes: Uint8Array): { header: IcmpHeader; body: Uint8Array } {
  requireLength(bytes, ICMP_HEADER_LENGTH, "icmp");
  return {
    header: {
      type: bytes[0] ?? 0,
      code: bytes[1] ?? 0,
      checksum: readU16(bytes, 2),
      rest: ((readU16(bytes, 4) << 16) >>> 0) + readU16(bytes, 6),
    },
    body: bytes.subarray(ICMP_HEADER_LENGTH),
  };
}

export function icmpChecksumValid(message: Uint8Array): boolean {
  return checksumVerifies(message);
}
