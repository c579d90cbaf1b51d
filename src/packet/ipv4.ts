/** IPv4 (RFC 791) headers with options and the header checksum. */
import { PacketError, concatBytes, readU16, requireLength, requireUint, writeU16 } from "./bytes.js";
import { bytesToIpv4, ipv4ToBytes } from "./address.js";
import { internetChecksum, onesComplementSum } from "./checksum.js";

export const IPV4_MIN_HEADER_LENGTH = 20;

/** Flag bits of the 3-bit flags field. */
export const Ipv4Flags = { DF: 0b010, MF: 0b001 } as const;

export interface Ipv4Header {
  readonly version: number;
  /** Header length in 32-bit words. */
  readonly ihl: number;
  readonly dscp: number;
  readonly ecn: number;
  readonly totalLength: number;
  readonly identification: number;
  readonly flags: number;
  readonly fragmentOffset: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly checksum: number;
  readonly src: string;
  readonly dst: string;
  /** (ihl - 5) * 4 bytes. */
  readonly options: Uint8Array;
}

/** What to build; computed fields may be overridden to craft bad packets. */
export interface Ipv4Spec {
  readonly src: string;
  readonly dst: string;
  readonly protocol: number;
  readonly ttl?: number;
  readonly dscp?: number;
  readonly ecn?: number;
  readonly identification?: number;
  readonly flags?: number;
  readonly fragmentOffset?: number;
  /** A multiple of 4 bytes, at most 40. */
  readonly options?: Uint8Array;
  readonly version?: number;
  readonly ihl?: number;
  readonly totalLength?: number;
  readonly checksum?: number;
}

/** The IPv4 header (with options) followed by payload. */
export function buildIpv4(spec: Ipv4Spec, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const options = spec.options ?? new Uint8Array(0);
  if (options.length % 4 !== 0 || options.length > 40) {
    throw new PacketError("invalid-field", "ipv4", `options must be a multiple of 4 bytes, at most 40 (got ${options.length})`);
  }
  const headerLength = IPV4_MIN_HEADER_LENGTH + options.length;
  /** `value` of the header field `name`, checked to fit in `bits`. */
  const field = (name: string, value: number, bits: number): number => {
    requireUint(value, bits, "ipv4", name);
    return value;
  };
  const version = field("version", spec.version ?? 4, 4);
  const ihl = field("ihl", spec.ihl ?? headerLength / 4, 4);
  const dscp = field("dscp", spec.dscp ?? 0, 6);
  const ecn = field("ecn", spec.ecn ?? 0, 2);
  const totalLength = field("totalLength", spec.totalLength ?? headerLength + payload.length, 16);
  const identification = field("identification", spec.identification ?? 0, 16);
  const flags = field("flags", spec.flags ?? 0, 3);
  const fragmentOffset = field("fragmentOffset", spec.fragmentOffset ?? 0, 13);
  const ttl = field("ttl", spec.ttl ?? 64, 8);
  const protocol = field("protocol", spec.protocol, 8);

  const h = new Uint8Array(headerLength);
  h[0] = (version << 4) | ihl;
  h[1] = (dscp << 2) | ecn;
  writeU16(h, 2, totalLength);
  writeU16(h, 4, identification);
  writeU16(h, 6, (flags << 13) | fragmentOffset);
  h[8] = ttl;
  h[9] = protocol;
  h.set(ipv4ToBytes(spec.src), 12);
  h.set(ipv4ToBytes(spec.dst), 16);
  h.set(options, 20);
  const checksum = spec.checksum ?? internetChecksum(h);
  requireUint(checksum, 16, "ipv4", "checksum");
  writeU16(h, 10, checksum);
  return concatBytes(h, payload);
}

/**
 * Parses an IPv4 header. Throws on a wrong version, IHL < 5, or fewer bytes
 * than the header / total length claims. The payload ends at totalLength
 * (trailing bytes such as Ethernet padding are dropped).
 */
export function parseIpv4(bytes: Uint8Array): { header: Ipv4Header; payload: Uint8Array } {
  requireLength(bytes, IPV4_MIN_HEADER_LENGTH, "ipv4");
  const version = (bytes[0] ?? 0) >>> 4;
  const ihl = (bytes[0] ?? 0) & 0xf;
  if (version !== 4) throw new PacketError("invalid-field", "ipv4", `version is ${version}, not 4`);
  if (ihl < 5) throw new PacketError("invalid-field", "ipv4", `IHL ${ihl} < 5`);
  requireLength(bytes, ihl * 4, "ipv4");
  const totalLength = readU16(bytes, 2);
  if (totalLength < ihl * 4) throw new PacketError("invalid-field", "ipv4", `total length ${totalLength} < header length ${ihl * 4}`);
  requireLength(bytes, totalLength, "ipv4");
  const fragment = readU16(bytes, 6);
  const header: Ipv4Header = {
    version,
    ihl,
    dscp: (bytes[1] ?? 0) >>> 2,
    ecn: (bytes[1] ?? 0) & 0x3,
    totalLength,
    identification: readU16(bytes, 4),
    flags: fragment >>> 13,
    fragmentOffset: fragment & 0x1fff,
    ttl: bytes[8] ?? 0,
    protocol: bytes[9] ?? 0,
    checksum: readU16(bytes, 10),
    src: bytesToIpv4(bytes, 12),
    dst: bytesToIpv4(bytes, 16),
    options: bytes.slice(20, ihl * 4),
  };
  return { header, payload: bytes.subarray(ihl * 4, totalLength) };
}

/** True when the header (IHL words at the start of bytes) has a correct checksum. */
export function ipv4HeaderChecksumValid(bytes: Uint8Array): boolean {
  requireLength(bytes, IPV4_MIN_HEADER_LENGTH, "ipv4");
  const ihl = (bytes[0] ?? 0) & 0xf;
  requireLength(bytes, ihl * 4, "ipv4");
  return onesComplementSum(bytes.subarray(0, ihl * 4)) === 0xffff;
}

/** True when the header is a fragment other than a whole datagram (MF set or offset != 0). */
export function isIpv4Fragment(header: Ipv4Header): boolean {
  return (header.flags & Ipv4Flags.MF) !== 0 || header.fragmentOffset !== 0;
}
