/**
 * Human-readable values for P4 fields: decimal and hexadecimal integers,
 * IPv4, IPv6 and MAC addresses. Pure functions, no I/O. Parsing yields an
 * unsigned bigint checked against the field's width; formatting turns a
 * bigint back into the notation a person expects for that field.
 */
import { bigIntToIpv6, bytesToBigInt } from "../../packet/address.js";
import { P4ValueError } from "../errors.js";
import { maxUnsigned } from "./bytestring.js";

export type ValueFormat = "int" | "hex" | "ipv4" | "ipv6" | "mac";

/** What a caller may pass for a field's value. */
export type ValueInput = bigint | number | string | Uint8Array;

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAC_RE = /^[0-9a-fA-F]{1,2}([:-][0-9a-fA-F]{1,2}){5}$/;
const DEC_RE = /^\d+$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/i;
const BIN_RE = /^0b[01]+$/i;

/**
 * Parses `input` for a field of `bitwidth` bits. Strings may be decimal,
 * 0x-hex, 0b-binary, dotted IPv4, IPv6 or MAC; a Uint8Array is big-endian.
 * Throws P4ValueError naming `field` and its width when the value is
 * malformed or too wide.
 */
export function parseValue(input: ValueInput, bitwidth: number, field = "value"): bigint {
  const v = toBigInt(input, field);
  if (v < 0n) throw new P4ValueError(`${field} (bit<${bitwidth}>): negative value ${v}`, field);
  if (bitwidth > 0 && v > maxUnsigned(bitwidth)) {
    throw new P4ValueError(
      `${field} (bit<${bitwidth}>): value ${typeof input === "string" ? JSON.stringify(input) : String(v)} is wider than ${bitwidth} bits`,
      field,
    );
  }
  return v;
}

function toBigInt(input: ValueInput, field: string): bigint {
  if (typeof input === "bigint") return input;
  if (typeof input === "number") {
    if (!Number.isSafeInteger(input)) throw new P4ValueError(`${field}: ${input} is not a safe integer; pass a bigint or string`, field);
    return BigInt(input);
  }
  if (input instanceof Uint8Array) return bytesToBigInt(input);
  const s = input.trim();
  if (DEC_RE.test(s)) return BigInt(s);
  if (HEX_RE.test(s) || BIN_RE.test(s)) return BigInt(s.toLowerCase());
  if (IPV4_RE.test(s)) return parseIPv4(s, field);
  if (MAC_RE.test(s)) return parseMac(s);
  if (s.includes(":")) return parseIPv6(s, field);
  throw new P4ValueError(`${field}: cannot parse ${JSON.stringify(input)} (expected an integer, 0x-hex, IPv4, IPv6 or MAC address)`, field);
}

export function parseIPv4(s: string, field = "value"): bigint {
  const m = IPV4_RE.exec(s.trim());
  if (!m) throw new P4ValueError(`${field}: ${JSON.stringify(s)} is not an IPv4 address`, field);
  let v = 0n;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) throw new P4ValueError(`${field}: ${JSON.stringify(s)} has an octet above 255`, field);
    v = (v << 8n) | BigInt(octet);
  }
  return v;
}

export function parseMac(s: string): bigint {
  return BigInt(
    "0x" +
      s
        .split(/[:-]/)
        .map((p) => p.padStart(2, "0"))
        .join(""),
  );
}

export function parseIPv6(s: string, field = "value"): bigint {
  const bad = () => new P4ValueError(`${field}: ${JSON.stringify(s)} is not an IPv6 address`, field);
  let text = s.trim();
  // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::192.0.2.1) becomes two groups.
  const tail = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(text);
  if (tail) {
    const v4 = parseIPv4(tail[1]!, field);
    text = `${text.slice(0, -tail[1]!.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const groupsOf = (part: string): string[] => (part === "" ? [] : part.split(":"));
  const head = groupsOf(halves[0]!);
  const rest = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) throw bad();
  const groups = halves.length === 2 ? [...head, ...Array<string>(missing).fill("0"), ...rest] : head;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
    v = (v << 16n) | BigInt(`0x${g}`);
  }
  return v;
}

export function formatIPv4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => ((v >> s) & 0xffn).toString()).join(".");
}

export function formatMac(v: bigint): string {
  const parts: string[] = [];
  for (let s = 40n; s >= 0n; s -= 8n) parts.push(((v >> s) & 0xffn).toString(16).padStart(2, "0"));
  return parts.join(":");
}

/** RFC 5952 text (lower case, longest run of two or more zero groups as "::") of the low 128 bits of `v`. */
export function formatIPv6(v: bigint): string {
  return bigIntToIpv6(BigInt.asUintN(128, v));
}

export function formatValue(v: bigint, format: ValueFormat): string {
  switch (format) {
    case "ipv4":
      return formatIPv4(v);
    case "ipv6":
      return formatIPv6(v);
    case "mac":
      return formatMac(v);
    case "hex":
      return `0x${v.toString(16)}`;
    case "int":
      return v.toString();
  }
}

/**
 * The notation a person expects for a field: an explicit @format annotation
 * (IPV4_ADDRESS, IPV6_ADDRESS, MAC_ADDRESS) wins; otherwise address-like
 * names of 32, 48 or 128 bits are shown as addresses, and other values in
 * decimal.
 */
export function guessFormat(name: string, bitwidth: number, annotations: readonly string[] = []): ValueFormat {
  for (const a of annotations) {
    const m = /^@format\((\w+)\)$/.exec(a.replace(/\s+/g, ""));
    if (m?.[1] === "IPV4_ADDRESS") return "ipv4";
    if (m?.[1] === "IPV6_ADDRESS") return "ipv6";
    if (m?.[1] === "MAC_ADDRESS") return "mac";
    if (m?.[1] === "HEX_STR") return "hex";
  }
  const n = name.toLowerCase();
  const addressy = /addr|(^|[._])(ip|ipv4|ipv6|src|dst|sa|da|mac|nexthop|next_hop|group|grp|loopback)($|[._])/.test(n);
  if (bitwidth === 32 && addressy) return "ipv4";
  if (bitwidth === 128 && addressy) return "ipv6";
  if (bitwidth === 48 && (addressy || /mac|eth/.test(n))) return "mac";
  return "int";
}
