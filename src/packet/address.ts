/**
 * Textual <-> binary forms of MAC, IPv4 and IPv6 addresses. IPv6 text output
 * follows RFC 5952 (lower case, longest run of two or more zero groups
 * compressed, leftmost on a tie).
 */
import { PacketError } from "./bytes.js";

export function macToBytes(mac: string): Uint8Array {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new PacketError("invalid-address", "mac", `not a MAC address: ${mac}`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function bytesToMac(bytes: Uint8Array, offset = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((bytes[offset + i] ?? 0).toString(16).padStart(2, "0"));
  return parts.join(":");
}

export function ipv4ToNumber(addr: string): number {
  const parts = addr.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new PacketError("invalid-address", "ipv4", `not an IPv4 address: ${addr}`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function numberToIpv4(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new PacketError("invalid-address", "ipv4", `not a 32-bit value: ${value}`);
  }
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join(".");
}

export function ipv4ToBytes(addr: string): Uint8Array {
  const v = ipv4ToNumber(addr);
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

export function bytesToIpv4(bytes: Uint8Array, offset = 0): string {
  return [0, 1, 2, 3].map((i) => bytes[offset + i] ?? 0).join(".");
}

/** IPv6 text (RFC 4291 2.2 forms, including a dotted IPv4 tail) to a 128-bit value. */
export function ipv6ToBigInt(addr: string): bigint {
  const bad = (): PacketError => new PacketError("invalid-address", "ipv6", `not an IPv6 address: ${addr}`);
  let text = addr;
  if (text.includes(".")) {
    const lastColon = text.lastIndexOf(":");
    if (lastColon < 0) throw bad();
    const v4 = ipv4ToNumber(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const parseGroups = (s: string): number[] =>
    s === ""
      ? []
      : s.split(":").map((g) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
          return parseInt(g, 16);
        });
  const head = parseGroups(halves[0] ?? "");
  let groups: number[];
  if (halves.length === 2) {
    const rest = parseGroups(halves[1] ?? "");
    const fill = 8 - head.length - rest.length;
    if (fill < 1) throw bad();
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) throw bad();
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** 128-bit value to RFC 5952 text. */
export function bigIntToIpv6(value: bigint): string {
  if (value < 0n || value >= 1n << 128n) {
    throw new PacketError("invalid-address", "ipv6", `not a 128-bit value: ${value}`);
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLen).join(":");
  return `${left}::${right}`;
}

export function ipv6ToBytes(addr: string): Uint8Array {
  return bigIntToBytes(ipv6ToBigInt(addr), 16);
}

export function bytesToIpv6(bytes: Uint8Array, offset = 0): string {
  return bigIntToIpv6(bytesToBigInt(bytes.subarray(offset, offset + 16)));
}

/** Canonical (RFC 5952) form of an IPv6 address text. */
export function normalizeIpv6(addr: string): string {
  return bigIntToIpv6(ipv6ToBigInt(addr));
}

export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** 224.0.0.0/4 */
export function isIpv4Multicast(addr: string): boolean {
  return ipv4ToNumber(addr) >>> 28 === 0xe;
}

/** ff00::/8 */
export function isIpv6Multicast(addr: string): boolean {
  return ipv6ToBigInt(addr) >> 120n === 0xffn;
}

/** RFC 1112 6.4: 01:00:5e + low 23 bits of the group. */
export function ipv4MulticastMac(group: string): string {
  const g = ipv4ToNumber(group) & 0x7fffff;
  return bytesToMac(Uint8Array.of(0x01, 0x00, 0x5e, g >>> 16, (g >>> 8) & 0xff, g & 0xff));
}

/** RFC 2464 7: 33:33 + low 32 bits of the group. */
export function ipv6MulticastMac(group: string): string {
  const low = bigIntToBytes(ipv6ToBigInt(group) & 0xffffffffn, 4);
  return bytesToMac(Uint8Array.of(0x33, 0x33, ...low));
}
