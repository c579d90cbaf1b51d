/**
 * ICMPv6 (RFC 4443): same 8-byte layout as ICMP, but the checksum includes
 * the IPv6 pseudo-header (next header 58).
 */
import { requireUint, writeU16 } from "./bytes.js";
import type { IpContext } from "./checksum.js";
import { upperLayerChecksum, upperLayerChecksumVerifies } from "./checksum.js";
import type { IcmpHeader, IcmpSpec } from "./icmp.js";
import { icmpMessageWithoutChecksum, parseIcmp } from "./icmp.js";
import { IpProtocol } from "./ip-protocol.js";

export const Icmpv6Type = {
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  MLD_QUERY: 130,
  MLD_V1_REPORT: 131,
  MLD_V1_DONE: 132,
  MLD_V2_REPORT: 143,
} as const;

export function buildIcmpv6(spec: IcmpSpec, body: Uint8Array, ctx: IpContext): Uint8Array {
  const msg = icmpMessageWithoutChecksum(spec, body);
  const checksum = spec.checksum ?? upperLayerChecksum(ctx, IpProtocol.ICMPV6, msg);
  requireUint(checksum, 16, "icmpv6", "checksum");
  writeU16(msg, 2, checksum);
  return msg;
}

export function parseIcmpv6(bytes: Uint8Array): { header: IcmpHeader; body: Uint8Array } {
  return parseIcmp(bytes);
}

export function icmpv6ChecksumValid(message: Uint8Array, ctx: IpContext): boolean {
  return upperLayerChecksumVerifies(ctx, IpProtocol.ICMPV6, message);
}
