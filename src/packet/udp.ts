/** UDP (RFC 768) with its pseudo-header checksum. */
import { concatBytes, readU16, requireLength, requireUint, writeU16 } from "./bytes.js";
import type { IpContext } from "./checksum.js";
import { upperLayerChecksum, upperLayerChecksumVerifies } from "./checksum.js";
import { IpProtocol } from "./ip-protocol.js";

export const UDP_HEADER_LENGTH = 8;

export interface UdpHeader {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly length: number;
  readonly checksum: number;
}

export interface UdpSpec {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly length?: number;
  /** Override; 0 means "no checksum" (IPv4 only). Computed when absent. */
  readonly checksum?: number;
}

/** A UDP datagram; the checksum is computed over ctx's pseudo-header unless given. */
export function buildUdp(spec: UdpSpec, payload: Uint8Array, ctx: IpContext): Uint8Array {
  requireUint(spec.srcPort, 16, "udp", "srcPort");
  requireUint(spec.dstPort, 16, "udp", "dstPort");
  const length = spec.length ?? UDP_HEADER_LENGTH + payload.length;
  requireUint(length, 16, "udp", "length");
  const h = new Uint8Array(UDP_HEADER_LENGTH);
  writeU16(h, 0, spec.srcPort);
  writeU16(h, 2, spec.dstPort);
  writeU16(h, 4, length);
  const datagram = concatBytes(h, payload);
  let checksum = spec.checksum;
  if (checksum === undefined) {
    checksum = upperLayerChecksum(ctx, IpProtocol.UDP, datagram);
    if (checksum === 0) checksum = 0xffff;
  }
  requireUint(checksum, 16, "udp", "checksum");
  writeU16(datagram, 6, checksum);
  return datagram;
}

export function parseUdp(bytes: Uint8Array): { header: UdpHeader; payload: Uint8Array } {
  requireLength(bytes, UDP_HEADER_LENGTH, "udp");
  const header: UdpHeader = {
    srcPort: readU16(bytes, 0),
    dstPort: readU16(bytes, 2),
    length: readU16(bytes, 4),
    checksum: readU16(bytes, 6),
  };
  const end = header.length >= UDP_HEADER_LENGTH && header.length <= bytes.length ? header.length : bytes.length;
  return { header, payload: bytes.subarray(UDP_HEADER_LENGTH, end) };
}

/** True when the datagram's checksum is right (or 0 = absent, over IPv4). */
export function udpChecksumValid(datagram: Uint8Array, ctx: IpContext): boolean {
  requireLength(datagram, UDP_HEADER_LENGTH, "udp");
  if (readU16(datagram, 6) === 0) return ctx.version === 4;
  return upperLayerChecksumVerifies(ctx, IpProtocol.UDP, datagram);
}
