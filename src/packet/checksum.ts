/**
 * The Internet checksum (RFC 1071), pseudo-headers (RFC 768/793 for IPv4,
 * RFC 8200 8.1 for IPv6) and the incremental update of RFC 1624 eqn. 3 --
 * the update the data plane applies (p4/include/csum16.p4, where it is the
 * csum16 of {~HC, ~old words, new words}), so tests can predict the switch's
 * checksums word for word.
 */
import { concatBytes } from "./bytes.js";
import { bigIntToBytes, ipv4ToBytes, ipv6ToBytes } from "./address.js";

/** The 16-bit ones'-complement sum (not complemented) of data, odd length zero-padded. */
export function onesComplementSum(data: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < data.length; i += 2) sum += ((data[i] ?? 0) << 8) | (data[i + 1] ?? 0);
  if (data.length % 2 === 1) sum += (data[data.length - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The Internet checksum of the concatenation of chunks. */
export function internetChecksum(...chunks: readonly Uint8Array[]): number {
  return ~onesComplementSum(concatBytes(...chunks)) & 0xffff;
}

/** True when data, including its checksum field, sums to 0xffff. */
export function checksumVerifies(...chunks: readonly Uint8Array[]): boolean {
  return onesComplementSum(concatBytes(...chunks)) === 0xffff;
}

/** Ones'-complement sum of two 16-bit words. */
export function csum16Add(a: number, b: number): number {
  const s = (a & 0xffff) + (b & 0xffff);
  return (s & 0xffff) + (s >>> 16);
}

/** Sum of the two words of a 32-bit value. */
export function csum16Fold32(x: number): number {
  return csum16Add((x >>> 16) & 0xffff, x & 0xffff);
}

/** Sum of the 16-bit words of a value of `bits` bits. */
export function csum16FoldBigInt(x: bigint, bits = 128): number {
  let sum = 0;
  for (let shift = bits - 16; shift >= 0; shift -= 16) {
    sum = csum16Add(sum, Number((x >> BigInt(shift)) & 0xffffn));
  }
  return sum;
}

/** RFC 1624 eqn. 3: ~(~hc + ~oldSum + newSum) (CSUM16_UPDATE in the data plane). */
export function csum16Replace(hc: number, oldSum: number, newSum: number): number {
  return ~csum16Add(csum16Add(~hc & 0xffff, ~oldSum & 0xffff), newSum) & 0xffff;
}

/** The UDP variant (CSUM16_UPDATE_UDP): 0 stays 0 (no checksum), a computed 0 becomes 0xffff. */
export function csum16ReplaceUdp(hc: number, oldSum: number, newSum: number): number {
  if (hc === 0) return 0;
  const r = csum16Replace(hc, oldSum, newSum);
  return r === 0 ? 0xffff : r;
}

/** Where an L4 checksum is computed: the addresses of the IP header carrying it. */
export type IpContext =
  | { readonly version: 4; readonly src: string; readonly dst: string }
  | { readonly version: 6; readonly src: string; readonly dst: string };

/** The pseudo-header of an upper-layer checksum (12 bytes for IPv4, 40 for IPv6). */
export function pseudoHeader(ctx: IpContext, protocol: number, upperLength: number): Uint8Array {
  if (ctx.version === 4) {
    const tail = Uint8Array.of(0, protocol, (upperLength >>> 8) & 0xff, upperLength & 0xff);
    return concatBytes(ipv4ToBytes(ctx.src), ipv4ToBytes(ctx.dst), tail);
  }
  return concatBytes(ipv6ToBytes(ctx.src), ipv6ToBytes(ctx.dst), bigIntToBytes(BigInt(upperLength), 4), Uint8Array.of(0, 0, 0, protocol));
}

/**
 * The checksum of an upper-layer message (UDP, TCP, ICMPv6) whose checksum
 * field is zero in `message`, with its pseudo-header.
 */
export function upperLayerChecksum(ctx: IpContext, protocol: number, message: Uint8Array): number {
  return internetChecksum(pseudoHeader(ctx, protocol, message.length), message);
}

/** True when the upper-layer message's checksum verifies against its pseudo-header. */
export function upperLayerChecksumVerifies(ctx: IpContext, protocol: number, message: Uint8Array): boolean {
  return checksumVerifies(pseudoHeader(ctx, protocol, message.length), message);
}
