/**
 * Whole frames: compose Ethernet + [outer IPv4 + shim] + IP + L4 in one call,
 * and decode a frame the way the p4cast parser does (p4/include/parser.p4),
 * with a checksum audit of every layer. This is what switch tests use.
 */
import { PacketError, concatBytes } from "./bytes.js";
import type { EthernetHeader } from "./ethernet.js";
import { EtherType, buildEthernet, parseEthernet } from "./ethernet.js";
import type { IpContext } from "./checksum.js";
import type { Ipv4Header, Ipv4Spec } from "./ipv4.js";
import { buildIpv4, ipv4HeaderChecksumValid, parseIpv4 } from "./ipv4.js";
import type { HopByHopHeader, Ipv6Header, Ipv6Spec } from "./ipv6.js";
import { buildIpv6, parseIpv6 } from "./ipv6.js";
import { IpProtocol } from "./ip-protocol.js";
import type { UdpHeader, UdpSpec } from "./udp.js";
import { buildUdp, parseUdp, udpChecksumValid } from "./udp.js";
import type { TcpHeader, TcpSpec } from "./tcp.js";
import { buildTcp, parseTcp, tcpChecksumValid } from "./tcp.js";
import type { IcmpHeader, IcmpSpec } from "./icmp.js";
import { buildIcmp, icmpChecksumValid, parseIcmp } from "./icmp.js";
import { buildIcmpv6, icmpv6ChecksumValid, parseIcmpv6 } from "./icmpv6.js";
import type { IgmpMessage } from "./igmp.js";
import { igmpChecksumValid, parseIgmp } from "./igmp.js";
import type { ShimHeader, ShimSpec } from "./shim.js";
import { buildShim, parseShim } from "./shim.js";
import type { HeartbeatHeader, HeartbeatSpec } from "./heartbeat.js";
import { HEARTBEAT_LENGTH, HEARTBEAT_UDP_PORT, buildHeartbeat, parseHeartbeat } from "./heartbeat.js";
import type { PacketInHeader, PacketOutHeader } from "./packet-io.js";
import { buildPacketOut, parsePacketIn, parsePacketOut } from "./packet-io.js";

/* ----------------------------------------------------------------------- */
/* Building                                                                 */
/* ----------------------------------------------------------------------- */

/** The upper layer of an IP packet to build. Checksums use the IP header's addresses. */
export type L4Spec =
  | { readonly kind: "udp"; readonly udp: UdpSpec; readonly payload?: Uint8Array }
  | { readonly kind: "heartbeat"; readonly heartbeat: HeartbeatSpec; readonly udp?: Partial<UdpSpec> }
  | { readonly kind: "tcp"; readonly tcp: TcpSpec; readonly payload?: Uint8Array }
  | { readonly kind: "icmp"; readonly icmp: IcmpSpec; readonly body?: Uint8Array }
  | { readonly kind: "icmpv6"; readonly icmp: IcmpSpec; readonly body?: Uint8Array }
  /** A finished upper-layer message (IGMP, MLD built with its context, anything). */
  | { readonly kind: "raw"; readonly protocol: number; readonly bytes: Uint8Array };

export type IpSpec =
  | ({ readonly version: 4; readonly protocol?: number } & Omit<Ipv4Spec, "protocol" | "version">)
  | ({ readonly version: 6; readonly nextHeader?: number } & Omit<Ipv6Spec, "nextHeader" | "version">);

export interface PacketSpec {
  readonly ip: IpSpec;
  readonly l4: L4Spec;
}

function l4Protocol(l4: L4Spec): number {
  switch (l4.kind) {
    case "udp":
    case "heartbeat":
      return IpProtocol.UDP;
    case "tcp":
      return IpProtocol.TCP;
    case "icmp":
      return IpProtocol.ICMP;
    case "icmpv6":
      return IpProtocol.ICMPV6;
    case "raw":
      return l4.protocol;
  }
}

function buildL4(l4: L4Spec, ctx: IpContext): Uint8Array {
  switch (l4.kind) {
    case "udp":
      return buildUdp(l4.udp, l4.payload ?? new Uint8Array(0), ctx);
    case "heartbeat":
      return buildUdp({ srcPort: HEARTBEAT_UDP_PORT, dstPort: HEARTBEAT_UDP_PORT, ...l4.udp }, buildHeartbeat(l4.heartbeat), ctx);
    case "tcp":
      return buildTcp(l4.tcp, l4.payload ?? new Uint8Array(0), ctx);
    case "icmp":
      return buildIcmp(l4.icmp, l4.body ?? new Uint8Array(0));
    case "icmpv6":
      return buildIcmpv6(l4.icmp, l4.body ?? new Uint8Array(0), ctx);
    case "raw":
      return l4.bytes;
  }
}

/** An IP packet (no Ethernet header). */
export function buildIpPacket(spec: PacketSpec): Uint8Array {
  const ctx: IpContext = { version: spec.ip.version, src: spec.ip.src, dst: spec.ip.dst };
  const l4 = buildL4(spec.l4, ctx);
  if (spec.ip.version === 4) {
    const { version: _v, ...rest } = spec.ip;
    return buildIpv4({ ...rest, protocol: spec.ip.protocol ?? l4Protocol(spec.l4) }, l4);
  }
  const { version: _v, ...rest } = spec.ip;
  return buildIpv6({ ...rest, nextHeader: spec.ip.nextHeader ?? l4Protocol(spec.l4) }, l4);
}

export interface EncapSpec {
  /** Outer IPv4 header; protocol defaults to 253, flags to DF. */
  readonly outer: Omit<Ipv4Spec, "protocol"> & { readonly protocol?: number };
  /** nextHeader defaults to the inner packet's family (4 or 41). */
  readonly shim: Omit<ShimSpec, "nextHeader"> & { readonly nextHeader?: number };
}

export interface FrameSpec {
  readonly ethernet: Omit<EthernetHeader, "etherType"> & { readonly etherType?: number };
  /** Prepends a packet_out header (controller -> switch). */
  readonly packetOut?: PacketOutHeader;
  /** Wraps the packet in outer IPv4 + p4cast shim. */
  readonly encap?: EncapSpec;
  /** The IP packet, as a spec or finished bytes (then etherType defaults to its version nibble). */
  readonly packet: PacketSpec | Uint8Array;
  /** Bytes appended after the IP packet (e.g. Ethernet padding). */
  readonly trailer?: Uint8Array;
}

/** A complete frame, as it would be put on a switch port (or sent as packet-out). */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const inner = spec.packet instanceof Uint8Array ? spec.packet : buildIpPacket(spec.packet);
  const innerVersion = (inner[0] ?? 0) >>> 4;
  let l3 = inner;
  let etherType = innerVersion === 6 ? EtherType.IPV6 : EtherType.IPV4;
  if (spec.encap) {
    const shim = buildShim({
      ...spec.encap.shim,
      nextHeader: spec.encap.shim.nextHeader ?? (innerVersion === 6 ? IpProtocol.IPV6 : IpProtocol.IPV4),
    });
    l3 = buildIpv4(
      { flags: 0b010, ...spec.encap.outer, protocol: spec.encap.outer.protocol ?? IpProtocol.P4CAST },
      concatBytes(shim, inner),
    );
    etherType = EtherType.IPV4;
  }
  const frame = buildEthernet({ ...spec.ethernet, etherType: spec.ethernet.etherType ?? etherType }, l3);
  const parts = [frame];
  if (spec.trailer) parts.push(spec.trailer);
  if (spec.packetOut) parts.unshift(buildPacketOut(spec.packetOut));
  return concatBytes(...parts);
}

/* ----------------------------------------------------------------------- */
/* Decoding                                                                 */
/* ----------------------------------------------------------------------- */

export type DecodedL4 =
  | {
      readonly kind: "udp";
      readonly header: UdpHeader;
      readonly payload: Uint8Array;
      readonly heartbeat?: HeartbeatHeader;
      readonly bytes: Uint8Array;
    }
  | { readonly kind: "tcp"; readonly header: TcpHeader; readonly payload: Uint8Array; readonly bytes: Uint8Array }
  | { readonly kind: "icmp"; readonly header: IcmpHeader; readonly body: Uint8Array; readonly bytes: Uint8Array }
  | { readonly kind: "icmpv6"; readonly header: IcmpHeader; readonly body: Uint8Array; readonly bytes: Uint8Array }
  | { readonly kind: "igmp"; readonly message: IgmpMessage; readonly bytes: Uint8Array }
  /** Not parsed: unknown protocol, or a non-first fragment. */
  | { readonly kind: "other"; readonly protocol: number; readonly bytes: Uint8Array };

export type DecodedIp =
  | { readonly version: 4; readonly header: Ipv4Header; readonly l4: DecodedL4; readonly bytes: Uint8Array }
  | {
      readonly version: 6;
      readonly header: Ipv6Header;
      readonly hopByHop?: HopByHopHeader;
      readonly l4: DecodedL4;
      readonly bytes: Uint8Array;
    };

export interface DecodedFrame {
  readonly packetIn?: PacketInHeader;
  readonly packetOut?: PacketOutHeader;
  readonly ethernet: EthernetHeader;
  /** Present on an encapsulated p4cast packet. */
  readonly outer?: { readonly ipv4: Ipv4Header; readonly shim: ShimHeader; readonly bytes: Uint8Array };
  /** The (inner) IP packet; absent for non-IP frames. */
  readonly ip?: DecodedIp;
  /** Bytes after the outermost IP packet (Ethernet padding). */
  readonly trailer: Uint8Array;
}

export interface DecodeOptions {
  /** The frame starts with a packet_in header (it came from CPU port 255). */
  readonly packetIn?: boolean;
  /** The frame starts with a packet_out header. */
  readonly packetOut?: boolean;
}

function decodeL4(protocol: number, bytes: Uint8Array, first: boolean, v6: boolean): DecodedL4 {
  if (!first) return { kind: "other", protocol, bytes };
  switch (protocol) {
    case IpProtocol.UDP: {
      const { header, payload } = parseUdp(bytes);
      const heartbeat = header.dstPort === HEARTBEAT_UDP_PORT && payload.length >= HEARTBEAT_LENGTH ? parseHeartbeat(payload) : undefined;
      return heartbeat ? { kind: "udp", header, payload, heartbeat, bytes } : { kind: "udp", header, payload, bytes };
    }
    case IpProtocol.TCP: {
      const { header, payload } = parseTcp(bytes);
      return { kind: "tcp", header, payload, bytes };
    }
    case IpProtocol.ICMP:
      if (v6) break;
      return { kind: "icmp", ...parseIcmp(bytes), bytes };
    case IpProtocol.ICMPV6:
      if (!v6) break;
      return { kind: "icmpv6", ...parseIcmpv6(bytes), bytes };
    case IpProtocol.IGMP:
      if (v6) break;
      return { kind: "igmp", message: parseIgmp(bytes), bytes };
  }
  return { kind: "other", protocol, bytes };
}

function decodeIp(bytes: Uint8Array, etherTypeOrVersion: number): { ip: DecodedIp; length: number } {
  if (etherTypeOrVersion === 4) {
    const { header, payload } = parseIpv4(bytes);
    const l4 = decodeL4(header.protocol, payload, header.fragmentOffset === 0, false);
    return { ip: { version: 4, header, l4, bytes: bytes.subarray(0, header.totalLength) }, length: header.totalLength };
  }
  const parsed = parseIpv6(bytes);
  const length = 40 + parsed.header.payloadLength;
  const l4 = decodeL4(parsed.upperProtocol, parsed.payload, true, true);
  const ip: DecodedIp = parsed.hopByHop
    ? { version: 6, header: parsed.header, hopByHop: parsed.hopByHop, l4, bytes: bytes.subarray(0, length) }
    : { version: 6, header: parsed.header, l4, bytes: bytes.subarray(0, length) };
  return { ip, length };
}

/** Decodes a frame like the p4cast parser. Throws a PacketError on truncation or bad versions. */
export function decodeFrame(frame: Uint8Array, options: DecodeOptions = {}): DecodedFrame {
  let rest = frame;
  let packetIn: PacketInHeader | undefined;
  let packetOut: PacketOutHeader | undefined;
  if (options.packetIn) {
    const p = parsePacketIn(rest);
    packetIn = p.header;
    rest = p.payload;
  } else if (options.packetOut) {
    const p = parsePacketOut(rest);
    packetOut = p.header;
    rest = p.payload;
  }
  const eth = parseEthernet(rest);
  const l3 = eth.payload;
  let outer: DecodedFrame["outer"];
  let ip: DecodedIp | undefined;
  let consumed = 0;
  if (eth.header.etherType === EtherType.IPV4) {
    const isOuter = l3.length >= 10 && l3[0] === 0x45 && ((l3[6] ?? 0) & 0x3f) === 0 && l3[7] === 0 && l3[9] === IpProtocol.P4CAST;
    if (isOuter) {
      const o = parseIpv4(l3);
      const s = parseShim(o.payload);
      outer = { ipv4: o.header, shim: s.header, bytes: l3.subarray(0, o.header.totalLength) };
      consumed = o.header.totalLength;
      if (s.header.nextHeader === IpProtocol.IPV4 || s.header.nextHeader === IpProtocol.IPV6) {
        ip = decodeIp(s.payload, s.header.nextHeader === IpProtocol.IPV4 ? 4 : 6).ip;
      }
    } else {
      const d = decodeIp(l3, 4);
      ip = d.ip;
      consumed = d.length;
    }
  } else if (eth.header.etherType === EtherType.IPV6) {
    const d = decodeIp(l3, 6);
    ip = d.ip;
    consumed = d.length;
  }
  const result: DecodedFrame = {
    ethernet: eth.header,
    trailer: l3.subarray(consumed),
    ...(packetIn ? { packetIn } : {}),
    ...(packetOut ? { packetOut } : {}),
    ...(outer ? { outer } : {}),
    ...(ip ? { ip } : {}),
  };
  return result;
}

/**
 * Every checksum of a decoded frame that does not verify, as readable
 * strings (empty when all are right). L4 checksums of fragments are skipped.
 */
export function checksumProblems(frame: DecodedFrame): string[] {
  const problems: string[] = [];
  if (frame.outer && !ipv4HeaderChecksumValid(frame.outer.bytes)) problems.push("outer IPv4 header checksum");
  const ip = frame.ip;
  if (!ip) return problems;
  if (ip.version === 4 && !ipv4HeaderChecksumValid(ip.bytes)) problems.push("IPv4 header checksum");
  const ctx: IpContext = { version: ip.version, src: ip.header.src, dst: ip.header.dst };
  const fragment = ip.version === 4 && ((ip.header.flags & 1) !== 0 || ip.header.fragmentOffset !== 0);
  if (fragment) return problems;
  const l4 = ip.l4;
  switch (l4.kind) {
    case "udp":
      if (!udpChecksumValid(l4.bytes.subarray(0, Math.min(l4.bytes.length, l4.header.length)), ctx)) problems.push("UDP checksum");
      break;
    case "tcp":
      if (!tcpChecksumValid(l4.bytes, ctx)) problems.push("TCP checksum");
      break;
    case "icmp":
      if (!icmpChecksumValid(l4.bytes)) problems.push("ICMP checksum");
      break;
    case "icmpv6":
      if (!icmpv6ChecksumValid(l4.bytes, ctx)) problems.push("ICMPv6 checksum");
      break;
    case "igmp":
      if (!igmpChecksumValid(l4.bytes)) problems.push("IGMP checksum");
      break;
    case "other":
      break;
  }
  return problems;
}

/** Throws unless every checksum of the frame verifies. */
export function assertChecksums(frame: DecodedFrame): void {
  const problems = checksumProblems(frame);
  if (problems.length) throw new PacketError("invalid-field", "frame", `wrong ${problems.join(", ")}`);
}
