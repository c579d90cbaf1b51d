/**
 * The TNA L4 checksum method (p4/tna/parser.p4 + the deparsers in
 * p4/tna/arch.p4), modelled in ones'-complement arithmetic: the parser's
 * Checksum.subtract of the old checksum and of every field that may change,
 * subtract_all_and_deposit (the residual), and the deparser's update over the
 * new fields + residual. Each case is checked against a packet built from
 * scratch with the new header values (src/packet), i.e. the checksum a
 * correct rewrite must produce, and with a wrong incoming checksum, which
 * must stay wrong by the same amount (RFC 1624; the v1model behaviour).
 */
import { describe, expect, it } from "vitest";
import { buildIpPacket, type PacketSpec } from "../../src/packet/frame.js";
import { echoRest } from "../../src/packet/icmp.js";

/** 16-bit words of byte ranges / numbers. */
const words = (b: Uint8Array, from: number, to: number): number[] => {
  const out: number[] = [];
  for (let i = from; i < to; i += 2) out.push((b[i]! << 8) | (b[i + 1] ?? 0));
  return out;
};
const fold = (ws: readonly number[]): number => {
  let s = 0;
  for (const w of ws) {
    s += w;
    s = (s & 0xffff) + (s >>> 16);
  }
  return s;
};
/** Parser: residual = -(sum of the subtracted fields). */
const residual = (subtracted: readonly number[]): number => ~fold(subtracted) & 0xffff;
/** Deparser: ~(sum of the list); zeros_as_ones maps 0 to 0xFFFF. */
const update = (list: readonly number[], zerosAsOnes = false): number => {
  const c = ~fold(list) & 0xffff;
  return zerosAsOnes && c === 0 ? 0xffff : c;
};
const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;

const payload = Uint8Array.from({ length: 37 }, (_, i) => (i * 29 + 7) & 0xff);
const udp4 = (dst: string, checksum?: number): PacketSpec => ({ ip: { version: 4, src: "10.0.0.1", dst, ttl: 9 }, l4: { kind: "udp", udp: { srcPort: 4000, dstPort: 5000, ...(checksum !== undefined ? { checksum } : {}) }, payload } });

describe("TNA residual checksums equal a from-scratch checksum", () => {
  it("last-hop delivery, UDP/IPv4 (egress: -src -dst -csum; +src +dst')", () => {
    const before = buildIpPacket(udp4("239.1.1.1"));
    const after = buildIpPacket(udp4("10.9.9.9"));
    const r = residual([...words(before, 12, 20), u16(before, 26)]);
    expect(update([...words(after, 12, 20), r], true)).toBe(u16(after, 26));
  });

  it("a wrong incoming checksum stays wrong by the same amount", () => {
    const good = buildIpPacket(udp4("239.1.1.1"));
    const bad = buildIpPacket(udp4("239.1.1.1", (u16(good, 26) + 5) & 0xffff));
    const after = buildIpPacket(udp4("10.9.9.9"));
    const r = residual([...words(bad, 12, 20), u16(bad, 26)]);
    expect(update([...words(after, 12, 20), r], true)).not.toBe(u16(after, 26));
    expect((update([...words(after, 12, 20), r], true) - u16(after, 26) + 0xffff) % 0xffff).toBe(5);
  });

  it("UDP IPv6 -> IPv4 translation (ingress: -src6 -dst6 -csum; +src4 +dst4)", () => {
    const v6: PacketSpec = { ip: { version: 6, src: "2001:db8::1", dst: "64:ff9b::a09:909", hopLimit: 9 }, l4: { kind: "udp", udp: { srcPort: 4000, dstPort: 5000 }, payload } };
    const before = buildIpPacket(v6);
    const after = buildIpPacket({ ip: { version: 4, src: "192.0.2.1", dst: "10.9.9.9", ttl: 9 }, l4: v6.l4 });
    const r = residual([...words(before, 8, 40), u16(before, 46)]);
    expect(update([...words(after, 12, 20), r], true)).toBe(u16(after, 26));
  });

  it("ICMP echo -> ICMPv6 (ingress: -src4 -dst4 -csum -type; +type6 +pseudo6 +src4 +dst4)", () => {
    const icmp = { type: 8, code: 0, rest: echoRest(7, 3) };
    const before = buildIpPacket({ ip: { version: 4, src: "10.0.0.1", dst: "10.9.9.9", ttl: 9 }, l4: { kind: "icmp", icmp, body: payload } });
    const after = buildIpPacket({ ip: { version: 6, src: "64:ff9b::a00:1", dst: "2001:db8::9", hopLimit: 9 }, l4: { kind: "icmpv6", icmp: { ...icmp, type: 128 }, body: payload } });
    const r = residual([...words(before, 12, 20), u16(before, 22), u16(before, 20)]);
    const origSrcDst = words(before, 12, 20);
    const list = [u16(after, 40), ...words(after, 8, 40), u16(after, 4), 58, ...origSrcDst, r];
    expect(update(list)).toBe(u16(after, 42));
  });

  it("ICMPv6 echo -> ICMP (ingress: -src6 -dst6 -csum -type6; +type4 +~len +~58)", () => {
    const icmp = { type: 129, code: 0, rest: echoRest(9, 1) };
    const before = buildIpPacket({ ip: { version: 6, src: "2001:db8::1", dst: "64:ff9b::a09:909", hopLimit: 9 }, l4: { kind: "icmpv6", icmp, body: payload } });
    const after = buildIpPacket({ ip: { version: 4, src: "192.0.2.1", dst: "10.9.9.9", ttl: 9 }, l4: { kind: "icmp", icmp: { ...icmp, type: 0 }, body: payload } });
    const r = residual([...words(before, 8, 40), u16(before, 42), u16(before, 40)]);
    const list = [u16(after, 20), ~u16(before, 4) & 0xffff, ~58 & 0xffff, r];
    expect(update(list)).toBe(u16(after, 22));
  });

  it("heartbeat reflection (ingress: -src -dst -csum -type word -reflect_ts; + swapped + new)", () => {
    const spec = (type: number, reflect: bigint, src: string, dst: string): PacketSpec => ({ ip: { version: 4, src, dst, ttl: 64 }, l4: { kind: "heartbeat", heartbeat: { type, sequence: 77, originId: 3, originTimestamp: 123456789n, reflectTimestamp: reflect, flags: 1 } } });
    const before = buildIpPacket(spec(1, 0n, "10.0.0.1", "10.0.0.2"));
    const after = buildIpPacket(spec(2, 0x0001_2345_6789_abcdn, "10.0.0.2", "10.0.0.1"));
    const hb = (p: Uint8Array) => [u16(p, 28), ...words(p, 44, 52)];
    const r = residual([...words(before, 12, 20), u16(before, 26), ...hb(before)]);
    expect(update([...words(after, 12, 20), ...hb(after), r], true)).toBe(u16(after, 26));
  });
});
