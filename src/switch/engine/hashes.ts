/**
 * Hash algorithms of BMv2's calculations.cpp, over a byte buffer. Algorithms
 * of at most 32 bits return numbers; identity (up to 64 bits) returns bigint.
 */
import { unsupported } from "./errors.js";

function reflect(v: number, bits: number): number {
  let r = 0;
  for (let i = 0; i < bits; i++) {
    if (v & 1) r |= 1 << (bits - 1 - i);
    v >>>= 1;
  }
  return r >>> 0;
}

export interface CrcConfig {
  readonly width: 8 | 16 | 32;
  readonly poly: number;
  readonly init: number;
  readonly xorOut: number;
  readonly refIn: boolean;
  readonly refOut: boolean;
}

/** A table-driven CRC of up to 32 bits, configured like BMv2's crc_custom. */
export class Crc {
  private readonly table = new Uint32Array(256);
  private readonly mask: number;
  constructor(readonly cfg: CrcConfig) {
    const w = cfg.width;
    this.mask = w === 32 ? 0xffffffff : (1 << w) - 1;
    const top = 2 ** (w - 1);
    for (let d = 0; d < 256; d++) {
      let r = d * 2 ** (w - 8);
      for (let b = 0; b < 8; b++) {
        r = r >= top ? ((r - top) * 2) ^ cfg.poly : r * 2;
        r = (r >>> 0) & this.mask;
        r = r >>> 0;
      }
      this.table[d] = r;
    }
  }
  compute(buf: Uint8Array, len: number): number {
    const { width: w, refIn, refOut, init, xorOut } = this.cfg;
    const t = this.table;
    const m = this.mask;
    let rem = init >>> 0;
    const sh = w - 8;
    for (let i = 0; i < len; i++) {
      const byte = refIn ? REV8[buf[i]!]! : buf[i]!;
      const idx = (byte ^ (rem >>> sh)) & 0xff;
      rem = ((t[idx]! ^ ((rem << 8) >>> 0)) & m) >>> 0;
    }
    const out = refOut ? reflect(rem, w) : rem;
    return ((out ^ xorOut) & m) >>> 0;
  }
}

const REV8 = new Uint8Array(256);
for (let i = 0; i < 256; i++) REV8[i] = reflect(i, 8);

/** CRC-16 as in BMv2 "crc16": poly 0x8005, reflected, init 0 (CRC-16/ARC). */
const CRC16 = new Crc({ width: 16, poly: 0x8005, init: 0, xorOut: 0, refIn: true, refOut: true });
/** CRC-32 as in BMv2 "crc32" (IEEE 802.3). */
const CRC32 = new Crc({ width: 32, poly: 0x04c11db7, init: 0xffffffff, xorOut: 0xffffffff, refIn: true, refOut: true });
/** "crcCCITT": poly 0x1021, init 0xffff, not reflected. */
const CRCCCITT = new Crc({ width: 16, poly: 0x1021, init: 0xffff, xorOut: 0, refIn: false, refOut: false });

/** RFC 1071 ones' complement checksum ("csum16"/"cksum16"). */
export function csum16(buf: Uint8Array, len: number): number {
  let sum = 0;
  let i = 0;
  for (; i + 1 < len; i += 2) {
    sum += (buf[i]! << 8) | buf[i + 1]!;
    if (sum > 0x7fffffff) sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (i < len) sum += buf[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

export function xor16(buf: Uint8Array, len: number): number {
  let x = 0;
  let i = 0;
  for (; i + 1 < len; i += 2) x ^= (buf[i]! << 8) | buf[i + 1]!;
  if (i < len) x ^= buf[i]! << 8;
  return x;
}

export function xor32(buf: Uint8Array, len: number): number {
  let x = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) x ^= (buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!;
  if (i < len) {
    let t = 0;
    for (let k = 0; k < 4; k++) t = (t << 8) | (i + k < len ? buf[i + k]! : 0);
    x ^= t;
  }
  return x >>> 0;
}

/** "identity": the first (up to) 8 bytes as a big-endian integer. */
export function identity(buf: Uint8Array, len: number): bigint {
  let r = 0n;
  for (let i = 0; i < Math.min(8, len); i++) r = (r << 8n) | BigInt(buf[i]!);
  return r;
}

export interface HashAlgo {
  readonly name: string;
  /** Output fits a JS number (<= 32 bits). */
  readonly numeric: boolean;
  compute(buf: Uint8Array, len: number): number | bigint;
}

/** Creates a (stateful, for round_robin and custom CRCs) algorithm instance. */
export function hashAlgo(name: string): HashAlgo {
  const mk = (numeric: boolean, compute: (b: Uint8Array, l: number) => number | bigint): HashAlgo => ({ name, numeric, compute });
  switch (name) {
    case "crc16":
      return mk(true, (b, l) => CRC16.compute(b, l));
    case "crc32":
      return mk(true, (b, l) => CRC32.compute(b, l));
    case "crcCCITT":
      return mk(true, (b, l) => CRCCCITT.compute(b, l));
    case "crc16_custom": {
      const c = new Crc({ width: 16, poly: 0x8005, init: 0, xorOut: 0, refIn: true, refOut: true });
      return mk(true, (b, l) => c.compute(b, l));
    }
    case "crc32_custom": {
      const c = new Crc({ width: 32, poly: 0x04c11db7, init: 0xffffffff, xorOut: 0xffffffff, refIn: true, refOut: true });
      return mk(true, (b, l) => c.compute(b, l));
    }
    case "crc8_custom": {
      const c = new Crc({ width: 8, poly: 0x07, init: 0, xorOut: 0, refIn: false, refOut: false });
      return mk(true, (b, l) => c.compute(b, l));
    }
    case "csum16":
    case "cksum16":
      return mk(true, csum16);
    case "xor16":
      return mk(true, xor16);
    case "xor32":
      return mk(true, xor32);
    case "identity":
      return mk(false, identity);
    case "round_robin": {
      let i = 0n;
      return mk(false, () => i++);
    }
    default:
      throw unsupported(`hash algorithm '${name}'`);
  }
}
