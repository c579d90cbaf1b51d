/**
 * IPv4-embedded IPv6 addresses (RFC 6052 2.2) for prefix lengths 32, 40,
 * 48, 56, 64 and 96. Bits 64..71 (the "u" octet) are always zero; for
 * prefixes shorter than /96 the IPv4 address is split around it. The data
 * plane implements /96 only; the other lengths are for the controller and
 * tests. Also the RFC 8114 style multicast mapping helpers.
 */
import { PacketError } from "./bytes.js";
import { bigIntToIpv6, ipv4ToNumber, ipv6ToBigInt, numberToIpv4 } from "./address.js";

export type Rfc6052PrefixLength = 32 | 40 | 48 | 56 | 64 | 96;

/** The Well-Known Prefix 64:ff9b::/96 (RFC 6052 2.1). */
export const WELL_KNOWN_PREFIX = "64:ff9b::";

const LENGTHS: readonly number[] = [32, 40, 48, 56, 64, 96];

function check(prefixLength: number): void {
  if (!LENGTHS.includes(prefixLength)) {
    throw new PacketError("invalid-field", "rfc6052", `prefix length ${prefixLength} is not one of ${LENGTHS.join(", ")}`);
  }
}

/** Embeds ipv4 into prefix/prefixLength. Prefix bits beyond the length are ignored. */
export function embedIpv4(prefix: string, prefixLength: Rfc6052PrefixLength, ipv4: string): string {
  check(prefixLength);
  const p = ipv6ToBigInt(prefix);
  const v4 = BigInt(ipv4ToNumber(ipv4));
  const keep = p & (((1n << BigInt(prefixLength)) - 1n) << BigInt(128 - prefixLength));
  if (prefixLength === 96) return bigIntToIpv6(keep | v4);
  // Octets of the address after the prefix, skipping octet 8 (bits 64..71).
  const before = Math.min(4, (64 - prefixLength) / 8); // v4 octets before the u octet
  let out = keep;
  for (let i = 0; i < 4; i++) {
    const octet = (v4 >> BigInt(8 * (3 - i))) & 0xffn;
    const position = prefixLength / 8 + i + (i >= before ? 1 : 0); // octet index 0..15
    out |= octet << BigInt(8 * (15 - position));
  }
  return bigIntToIpv6(out);
}

/** The IPv4 address embedded in ipv6 under a prefix of prefixLength. */
export function extractIpv4(ipv6: string, prefixLength: Rfc6052PrefixLength): string {
  check(prefixLength);
  const a = ipv6ToBigInt(ipv6);
  if (prefixLength === 96) return numberToIpv4(Number(a & 0xffffffffn));
  const before = Math.min(4, (64 - prefixLength) / 8);
  let v4 = 0;
  for (let i = 0; i < 4; i++) {
    const position = prefixLength / 8 + i + (i >= before ? 1 : 0);
    v4 = v4 * 256 + Number((a >> BigInt(8 * (15 - position))) & 0xffn);
  }
  return numberToIpv4(v4);
}

/** True when ipv6 lies in prefix/prefixLength. */
export function inIpv6Prefix(ipv6: string, prefix: string, prefixLength: number): boolean {
  const shift = BigInt(128 - prefixLength);
  return ipv6ToBigInt(ipv6) >> shift === ipv6ToBigInt(prefix) >> shift;
}

/**
 * RFC 8114 style (S,G) mapping: G6 = groupPrefix/96 + G4, S6 =
 * sourcePrefix/96 + S4 -- what the data plane's mcast_xlate_4to6 does.
 */
export function mapMulticastSourceGroup(
  source4: string,
  group4: string,
  groupPrefix96: string,
  sourcePrefix96: string,
): { source6: string; group6: string } {
  return { source6: embedIpv4(sourcePrefix96, 96, source4), group6: embedIpv4(groupPrefix96, 96, group4) };
}
