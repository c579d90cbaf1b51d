/**
 * The controller headers of packet-in / packet-out through CPU port 255
 * (p4/include/headers.p4, @controller_header).
 *
 *   packet_in  (5 bytes): ingress_port(9) _pad(7) reason(8) aux(16)
 *   packet_out (2 bytes): egress_port(9) flags(7)
 */
import { readU16, requireLength, requireUint, writeU16 } from "./bytes.js";

export const CPU_PORT = 255;
export const PACKET_IN_LENGTH = 5;
export const PACKET_OUT_LENGTH = 2;

export const PuntReason = { NONE: 0, IGMP: 1, MLD: 2, HEARTBEAT: 3 } as const;
export const PacketOutFlags = { DIRECT: 0x01 } as const;

export interface PacketInHeader {
  readonly ingressPort: number;
  readonly reason: number;
  readonly aux: number;
}

export interface PacketOutHeader {
  readonly egressPort: number;
  readonly flags: number;
}

export function buildPacketIn(h: PacketInHeader): Uint8Array {
  requireUint(h.ingressPort, 9, "packet_in", "ingressPort");
  requireUint(h.reason, 8, "packet_in", "reason");
  requireUint(h.aux, 16, "packet_in", "aux");
  const b = new Uint8Array(PACKET_IN_LENGTH);
  writeU16(b, 0, h.ingressPort << 7);
  b[2] = h.reason;
  writeU16(b, 3, h.aux);
  return b;
}

export function parsePacketIn(bytes: Uint8Array): { header: PacketInHeader; payload: Uint8Array } {
  requireLength(bytes, PACKET_IN_LENGTH, "packet_in");
  return {
    header: { ingressPort: readU16(bytes, 0) >>> 7, reason: bytes[2] ?? 0, aux: readU16(bytes, 3) },
    payload: bytes.subarray(PACKET_IN_LENGTH),
  };
}

export function buildPacketOut(h: PacketOutHeader): Uint8Array {
  requireUint(h.egressPort, 9, "packet_out", "egressPort");
  requireUint(h.flags, 7, "packet_out", "flags");
  const b = new Uint8Array(PACKET_OUT_LENGTH);
  writeU16(b, 0, (h.egressPort << 7) | h.flags);
  return b;
}

export function parsePacketOut(bytes: Uint8Array): { header: PacketOutHeader; payload: Uint8Array } {
  requireLength(bytes, PACKET_OUT_LENGTH, "packet_out");
  const w = readU16(bytes, 0);
  return { header: { egressPort: w >>> 7, flags: w & 0x7f }, payload: bytes.subarray(PACKET_OUT_LENGTH) };
}
