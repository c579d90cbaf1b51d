/** Small frame builders for client tests (the packet library has the full set). */
import { parseIPv4, parseMac } from "../../src/p4runtime/codec/values.js";

export interface UdpFrameSpec {
  readonly src?: string;
  readonly dst: string;
  readonly sport?: number;
  readonly dport: number;
  readonly srcMac?: string;
  readonly dstMac?: string;
  readonly payload?: Uint8Array;
}

function checksum(b: Buffer, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i]! << 8) | (b[off + i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function ipv4Udp(spec: UdpFrameSpec): Uint8Array {
  const payload = Buffer.from(spec.payload ?? new TextEncoder().encode("p4cast"));
  const f = Buffer.alloc(42 + payload.length);
  f.writeUIntBE(Number(parseMac(spec.dstMac ?? "00:00:00:00:00:02")), 0, 6);
  f.writeUIntBE(Number(parseMac(spec.srcMac ?? "00:00:00:00:00:01")), 6, 6);
  f.writeUInt16BE(0x0800, 12);
  f.writeUInt8(0x45, 14);
  f.writeUInt16BE(28 + payload.length, 16);
  f.writeUInt8(64, 22);
  f.writeUInt8(17, 23);
  f.writeUInt32BE(Number(parseIPv4(spec.src ?? "10.0.1.1")), 26);
  f.writeUInt32BE(Number(parseIPv4(spec.dst)), 30);
  f.writeUInt16BE(checksum(f, 14, 20), 24);
  f.writeUInt16BE(spec.sport ?? 1234, 34);
  f.writeUInt16BE(spec.dport, 36);
  f.writeUInt16BE(8 + payload.length, 38);
  payload.copy(f, 42);
  return new Uint8Array(f);
}
