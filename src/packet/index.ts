/**
 * p4cast packet library: build and parse packets byte for byte, with
 * checksums, RFC 6052 address helpers and the dedup window reference model.
 * Pure TypeScript, no I/O. Explicit exports only.
 */
export type { PacketErrorKind } from "./bytes.js";
export {
  PacketError,
  isPacketError,
  concatBytes,
  hexToBytes,
  bytesToHex,
  bytesEqual,
  readU16,
  readU32,
  readU64,
  writeU16,
  writeU32,
  writeU64,
} from "./bytes.js";
export {
  macToBytes,
  bytesToMac,
  ipv4ToNumber,
  numberToIpv4,
  ipv4ToBytes,
  bytesToIpv4,
  ipv6ToBigInt,
  bigIntToIpv6,
  ipv6ToBytes,
  bytesToIpv6,
  normalizeIpv6,
  bigIntToBytes,
  bytesToBigInt,
  isIpv4Multicast,
  isIpv6Multicast,
  ipv4MulticastMac,
  ipv6MulticastMac,
} from "./address.js";
export type { IpContext } from "./checksum.js";
export {
  onesComplementSum,
  internetChecksum,
  checksumVerifies,
  csum16Add,
  csum16Fold32,
  csum16FoldBigInt,
  csum16Replace,
  csum16ReplaceUdp,
  pseudoHeader,
  upperLayerChecksum,
  upperLayerChecksumVerifies,
} from "./checksum.js";
export { IpProtocol } from "./ip-protocol.js";
export type { EthernetHeader } from "./ethernet.js";
export { ETHERNET_HEADER_LENGTH, EtherType, buildEthernet, parseEthernet } from "./ethernet.js";
export type { Ipv4Header, Ipv4Spec } from "./ipv4.js";
export {
  IPV4_MIN_HEADER_LENGTH,
  Ipv4Flags,
  buildIpv4,
  parseIpv4,
  ipv4HeaderChecksumValid,
  isIpv4Fragment,
} from "./ipv4.js";
export type { Ipv6Header, Ipv6Spec, HopByHopHeader, ParsedIpv6 } from "./ipv6.js";
export { IPV6_HEADER_LENGTH, buildIpv6, parseIpv6, routerAlertOptions } from "./ipv6.js";
export type { UdpHeader, UdpSpec } from "./udp.js";
export { UDP_HEADER_LENGTH, buildUdp, parseUdp, udpChecksumValid } from "./udp.js";
export type { TcpHeader, TcpSpec } from "./tcp.js";
export { TCP_MIN_HEADER_LENGTH, TcpFlags, buildTcp, parseTcp, tcpChecksumValid } from "./tcp.js";
export type { IcmpHeader, IcmpSpec } from "./icmp.js";
export {
  ICMP_HEADER_LENGTH,
  IcmpType,
  echoRest,
  echoFields,
  buildIcmp,
  parseIcmp,
  icmpChecksumValid,
} from "./icmp.js";
export { Icmpv6Type, buildIcmpv6, parseIcmpv6, icmpv6ChecksumValid } from "./icmpv6.js";
export type { IgmpV2Message, IgmpV3GroupRecord, IgmpV3Report, IgmpMessage } from "./igmp.js";
export {
  IgmpType,
  GroupRecordType,
  buildIgmpV2,
  buildIgmpV3Report,
  parseIgmp,
  igmpChecksumValid,
} from "./igmp.js";
export type { MldV1Message, MldV2Record, MldV2Report, MldMessage } from "./mld.js";
export { buildMldV1, buildMldV2Report, parseMld } from "./mld.js";
export type { ShimHeader, ShimSpec } from "./shim.js";
export { SHIM_LENGTH, SHIM_VERSION, ShimFlags, buildShim, parseShim } from "./shim.js";
export type { HeartbeatHeader, HeartbeatSpec } from "./heartbeat.js";
export {
  HEARTBEAT_LENGTH,
  HEARTBEAT_VERSION,
  HEARTBEAT_UDP_PORT,
  HeartbeatType,
  HeartbeatFlags,
  buildHeartbeat,
  parseHeartbeat,
} from "./heartbeat.js";
export type { PacketInHeader, PacketOutHeader } from "./packet-io.js";
export {
  CPU_PORT,
  PACKET_IN_LENGTH,
  PACKET_OUT_LENGTH,
  PuntReason,
  PacketOutFlags,
  buildPacketIn,
  parsePacketIn,
  buildPacketOut,
  parsePacketOut,
} from "./packet-io.js";
export type { Rfc6052PrefixLength } from "./rfc6052.js";
export {
  WELL_KNOWN_PREFIX,
  embedIpv4,
  extractIpv4,
  inIpv6Prefix,
  mapMulticastSourceGroup,
} from "./rfc6052.js";
export type {
  L4Spec,
  IpSpec,
  PacketSpec,
  EncapSpec,
  FrameSpec,
  DecodedL4,
  DecodedIp,
  DecodedFrame,
  DecodeOptions,
} from "./frame.js";
export { buildIpPacket, buildFrame, decodeFrame, checksumProblems, assertChecksums } from "./frame.js";
