/** IPv6 (RFC 8200) headers and the Hop-by-Hop Options extension header. */
import { PacketError, concatBytes, readU16, requireLength, requireUint, writeU16 } from "./bytes.js";
import { bytesToIpv6, ipv6ToBytes } from "./address.js";
import { IpProtocol } from "./ip-protocol.js";

export const IPV6_HEADER_LENGTH = 40;

export interface Ipv6Header {
  readonly version: number;
  readonly dscp: number;
  readonly ecn: number;
  readonly flowLabel: number;
  readonly payloadLength: number;
  readonly nextHeader: number;
  readonly hopLimit: number;
  readonly src: string;
  readonly dst: string;
}

/** Hop-by-Hop Options header: options are 6 + 8n bytes (TLVs with padding). */
export interface HopByHopHeader {
  readonly nextHeader: number;
  readonly options: Uint8Array;
}

export interface Ipv6Spec {
  readonly src: string;
  readonly dst: string;
  /** The upper-layer protocol (after any Hop-by-Hop header). */
  readonly nextHeader: number;
  readonly hopLimit?: number;
  readonly dscp?: number;
  readonly ecn?: number;
  readonly flowLabel?: number;
  /** Options of a Hop-by-Hop header to insert, 6 + 8n bytes. */
  readonly hopByHopOptions?: Uint8Array;
  readonly version?: number;
  readonly payloadLength?: number;
}

/** Router Alert option (RFC 2711) value 0 (MLD) followed by PadN: 6 bytes. */
export function routerAlertOptions(): Uint8Array {
  return Uint8Array.of(0x05, 0x02, 0x00, 0x00, 0x01, 0x00);
}

export function buildIpv6(spec: Ipv6Spec, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  let body = payload;
  let nextHeader = spec.nextHeader;
  if (spec.hopByHopOptions !== undefined) {
    const opts = spec.hopByHopOptions;
    if ((opts.length + 2) % 8 !== 0) {
      throw new PacketError("invalid-field", "ipv6", `Hop-by-Hop options must be 6 + 8n bytes (got ${opts.length})`);
    }
    const hbh = concatBytes(Uint8Array.of(spec.nextHeader, (opts.length + 2) / 8 - 1), opts);
    body = concatBytes(hbh, payload);
    nextHeader = IpProtocol.HOPOPT;
  }
  const version = spec.version ?? 6;
  const dscp = spec.dscp ?? 0;
  const ecn = spec.ecn ?? 0;
  const flowLabel = spec.flowLabel ?? 0;
  const payloadLength = spec.payloadLength ?? body.length;
  const hopLimit = spec.hopLimit ?? 64;
  requireUint(version, 4, "ipv6", "version");
  requireUint(dscp, 6, "ipv6", "dscp");
  requireUint(ecn, 2, "ipv6", "ecn");
  requireUint(flowLabel, 20, "ipv6", "flowLabel");
  requireUint(payloadLength, 16, "ipv6", "payloadLength");
  requireUint(nextHeader, 8, "ipv6", "nextHeader");
  requireUint(hopLimit, 8, "ipv6", "hopLimit");
  const h = new Uint8Array(IPV6_HEADER_LENGTH);
  const tc = (dscp << 2) | ecn;
  h[0] = (version << 4) | (tc >>> 4);
  h[1] = ((tc & 0xf) << 4) | (flowLabel >>> 16);
  writeU16(h, 2, flowLabel & 0xffff);
  writeU16(h, 4, payloadLength);
  h[6] = nextHeader;
  h[7] = hopLimit;
  h.set(ipv6ToBytes(spec.src), 8);
  h.set(ipv6ToBytes(spec.dst), 24);
  return concatBytes(h, body);
}

export interface ParsedIpv6 {
  readonly header: Ipv6Header;
  readonly hopByHop?: HopByHopHeader;
  /** Protocol of `payload`: the Hop-by-Hop next header if present. */
  readonly upperProtocol: number;
  /** After the header and Hop-by-Hop header, ending at payloadLength. */
  readonly payload: Uint8Array;
}

/** Parses IPv6 and a Hop-by-Hop header if present. Throws on a wrong version or truncation. */
export function parseIpv6(bytes: Uint8Array): ParsedIpv6 {
  requireLength(bytes, IPV6_HEADER_LENGTH, "ipv6");
  const b0 = bytes[0] ?? 0;
  const b1 = bytes[1] ?? 0;
  const version = b0 >>> 4;
  if (version !== 6) throw new PacketError("invalid-field", "ipv6", `version is ${version}, not 6`);
  const tc = ((b0 & 0xf) << 4) | (b1 >>> 4);
  const payloadLength = readU16(bytes, 4);
  requireLength(bytes, IPV6_HEADER_LENGTH + payloadLength, "ipv6");
  const header: Ipv6Header = {
    version,
    dscp: tc >>> 2,
    ecn: tc & 0x3,
    flowLabel: ((b1 & 0xf) << 16) | readU16(bytes, 2),
    payloadLength,
    nextHeader: bytes[6] ?? 0,
    hopLimit: bytes[7] ?? 0,
    src: bytesToIpv6(bytes, 8),
    dst: bytesToIpv6(bytes, 24),
  };
  const body = bytes.subarray(IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + payloadLength);
  if (header.nextHeader !== IpProtocol.HOPOPT) {
    return { header, upperProtocol: header.nextHeader, payload: body };
  }
  requireLength(body, 8, "ipv6-hbh");
  const hbhLength = ((body[1] ?? 0) + 1) * 8;
  requireLength(body, hbhLength, "ipv6-hbh");
  const hopByHop: HopByHopHeader = { nextHeader: body[0] ?? 0, options: body.slice(2, hbhLength) };
  return { header, hopByHop, upperProtocol: hopByHop.nextHeader, payload: body.subarray(hbhLength) };
}
