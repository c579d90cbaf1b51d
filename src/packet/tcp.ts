/** TCP (RFC 9293) segments with their pseudo-header checksum. */
import { PacketError, concatBytes, readU16, readU32, requireLength, requireUint, writeU16, writeU32 } from "./bytes.js";
import type { IpContext } from "./checksum.js";
import { upperLayerChecksum, upperLayerChecksumVerifies } from "./checksum.js";
import { IpProtocol } from "./ip-protocol.js";

export const TCP_MIN_HEADER_LENGTH = 20;

export const TcpFlags = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

export interface TcpHeader {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  /** Header length in 32-bit words. */
  readonly dataOffset: number;
  readonly flags: number;
  readonly window: number;
  readonly checksum: number;
  readonly urgentPointer: number;
  readonly options: Uint8Array;
}

export interface TcpSpec {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq?: number;
  readonly ack?: number;
  readonly flags?: number;
  readonly window?: number;
  readonly urgentPointer?: number;
  /** A multiple of 4 bytes, at most 40. */
  readonly options?: Uint8Array;
  readonly dataOffset?: number;
  readonly checksum?: number;
}

export function buildTcp(spec: TcpSpec, payload: Uint8Array, ctx: IpContext): Uint8Array {
  const options = spec.options ?? new Uint8Array(0);
  if (options.length % 4 !== 0 || options.length > 40) {
    throw new PacketError("invalid-field", "tcp", `options must be a multiple of 4 bytes, at most 40`);
  }
  const dataOffset = spec.dataOffset ?? (TCP_MIN_HEADER_LENGTH + options.length) / 4;
  requireUint(spec.srcPort, 16, "tcp", "srcPort");
  requireUint(spec.dstPort, 16, "tcp", "dstPort");
  requireUint(spec.seq ?? 0, 32, "tcp", "seq");
  requireUint(spec.ack ?? 0, 32, "tcp", "ack");
  requireUint(dataOffset, 4, "tcp", "dataOffset");
  requireUint(spec.flags ?? 0, 8, "tcp", "flags");
  requireUint(spec.window ?? 0, 16, "tcp", "window");
  requireUint(spec.urgentPointer ?? 0, 16, "tcp", "urgentPointer");
  const h = new Uint8Array(TCP_MIN_HEADER_LENGTH + options.length);
  writeU16(h, 0, spec.srcPort);
  writeU16(h, 2, spec.dstPort);
  writeU32(h, 4, spec.seq ?? 0);
  writeU32(h, 8, spec.ack ?? 0);
  h[12] = dataOffset << 4;
  h[13] = spec.flags ?? 0;
  writeU16(h, 14, spec.window ?? 65535);
  writeU16(h, 18, spec.urgentPointer ?? 0);
  h.set(options, 20);
  const segment = concatBytes(h, payload);
  const checksum = spec.checksum ?? upperLayerChecksum(ctx, IpProtocol.TCP, segment);
  requireUint(checksum, 16, "tcp", "checksum");
  writeU16(segment, 16, checksum);
  return segment;
}

export function parseTcp(bytes: Uint8Array): { header: TcpHeader; payload: Uint8Array } {
  requireLength(bytes, TCP_MIN_HEADER_LENGTH, "tcp");
  const dataOffset = (bytes[12] ?? 0) >>> 4;
  if (dataOffset < 5) throw new PacketError("invalid-field", "tcp", `data offset ${dataOffset} < 5`);
  requireLength(bytes, dataOffset * 4, "tcp");
  const header: TcpHeader = {
    srcPort: readU16(bytes, 0),
    dstPort: readU16(bytes, 2),
    seq: readU32(bytes, 4),
    ack: readU32(bytes, 8),
    dataOffset,
    flags: bytes[13] ?? 0,
    window: readU16(bytes, 14),
    checksum: readU16(bytes, 16),
    urgentPointer: readU16(bytes, 18),
    options: bytes.slice(20, dataOffset * 4),
  };
  return { header, payload: bytes.subarray(dataOffset * 4) };
}

export function tcpChecksumValid(segment: Uint8Array, ctx: IpContext): boolean {
  return upperLayerChecksumVerifies(ctx, IpProtocol.TCP, segment);
}
