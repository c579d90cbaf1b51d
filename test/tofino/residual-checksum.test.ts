/**
 * The TNA L4 checksum method (p4/tna/parser.p4 + p4/tna/arch.p4,
 * "Checksums"), modelled in ones'-complement arithmetic: the ingress
 * parser's Checksum.subtract of the old checksum and of the fields that may
 * change, subtract_all_and_deposit (the residual), and a deparser's update
 * over the new fields + residual -- in the ingress deparser (heartbeat
 * reflection, ICMP <-> ICMPv6) or, with the residual carried to egress in
 * the checksum field itself, in the egress deparser (UDP/TCP translation,
 * last-hop delivery), whose UDP/TCP lists name the IPv4 and the IPv6
 * addresses (the family egress did not parse adds zeros). Each case is
 * checked against a packet built from scratch with the new header values
 * (src/packet), i.e. the checksum a correct rewrite must produce, and with
 * a wrong incoming checksum, which must stay wrong by the same amount
 * (RFC 1624; the v1model behaviour).
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
const neg = (ws: readonly number[]): number[] => ws.map((w) => ~w & 0xffff);
const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
/** An IPv6 header egress did not parse: its address fields hold zeros. */
const ZERO_V6 = new Array<number>(16).fill(0);
const ZERO_V4 = new Array<number>(4).fill(0);

const payload = Uint8Array.from({ length: 37 }, (_, i) => (i * 29 + 7) & 0xff);
const udp4 = (dst: string, checksum?: number): PacketSpec => ({
  ip: { version: 4, src: "10.0.0.1", dst, ttl: 9 },
  l4: { kind: "udp", udp: { srcPort: 4000, dstPort: 5000, ...(checksum !== undefined ? { checksum } : {}) }, payload },
});

describe("TNA residual checksums equal a from-scratch checksum", () => {
  it("last-hop delivery, UDP/IPv4 (ingress: -src -dst -csum into the field; egress: +src +dst' +zeros of IPv6)", () => {
    const before = buildIpPacket(udp4("239.1.1.1"));
    const after = buildIpPacket(udp4("10.9.9.9"));
    const r = residual([...words(before, 12, 20), u16(before, 26)]);
    expect(update([...words(after, 12, 20), ...ZERO_V6, r], true)).toBe(u16(after, 26));
  });

  it("a copy egress does not change gets its checksum back (tree copy at a last hop)", () => {
    const p = buildIpPacket(udp4("239.1.1.1"));
    const r = residual([...words(p, 12, 20), u16(p, 26)]);
    expect(update([...words(p, 12, 20), ...ZERO_V6, r], true)).toBe(u16(p, 26));
    const tcp: PacketSpec = {
      ip: { version: 4, src: "10.0.0.1", dst: "239.1.1.1", ttl: 9 },
      l4: { kind: "tcp", tcp: { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: 0x18, window: 100 }, payload },
    };
    const t = buildIpPacket(tcp);
    expect(update([...words(t, 12, 20), ...ZERO_V6, residual([...words(t, 12, 20), u16(t, 36)])])).toBe(u16(t, 36));
  });

  it("a wrong incoming checksum stays wrong by the same amount", () => {
    const good = buildIpPacket(udp4("239.1.1.1"));
    const bad = buildIpPacket(udp4("239.1.1.1", (u16(good, 26) + 5) & 0xffff));
    const after = buildIpPacket(udp4("10.9.9.9"));
    const r = residual([...words(bad, 12, 20), u16(bad, 26)]);
    expect(update([...words(after, 12, 20), ...ZERO_V6, r], true)).not.toBe(u16(after, 26));
    expect((update([...words(after, 12, 20), ...ZERO_V6, r], true) - u16(after, 26) + 0xffff) % 0xffff).toBe(5);
  });

  it("UDP IPv6 -> IPv4 translation (ingress: -src6 -dst6 -csum into the field; egress: +src4 +dst4 +zeros of IPv6)", () => {
    const v6: PacketSpec = {
      ip: { version: 6, src: "2001:db8::1", dst: "64:ff9b::a09:909", hopLimit: 9 },
      l4: { kind: "udp", udp: { srcPort: 4000, dstPort: 5000 }, payload },
    };
    const before = buildIpPacket(v6);
    const after = buildIpPacket({ ip: { version: 4, src: "192.0.2.1", dst: "10.9.9.9", ttl: 9 }, l4: v6.l4 });
    const r = residual([...words(before, 8, 40), u16(before, 46)]);
    expect(update([...words(after, 12, 20), ...ZERO_V6, r], true)).toBe(u16(after, 26));
  });

  it("UDP IPv4 -> IPv6 translation (egress: +zeros of IPv4 +src6 +dst6)", () => {
    const before = buildIpPacket(udp4("10.9.9.9"));
    const after = buildIpPacket({ ip: { version: 6, src: "64:ff9b::a00:1", dst: "2001:db8::9", hopLimit: 9 }, l4: udp4("10.9.9.9").l4 });
    const r = residual([...words(before, 12, 20), u16(before, 26)]);
    expect(update([...ZERO_V4, ...words(after, 8, 40), r], true)).toBe(u16(after, 46));
  });

  it("ICMPv6 echo delivered to an IPv6 client (ingress: -src6 -dst6 -csum -type into the field; egress: +src6 +dst6' +type)", () => {
    const icmp = { type: 128, code: 0, rest: echoRest(4, 2) };
    const before = buildIpPacket({
      ip: { version: 6, src: "2001:db8::1", dst: "ff3e::8000:1", hopLimit: 9 },
      l4: { kind: "icmpv6", icmp, body: payload },
    });
    const after = buildIpPacket({
      ip: { version: 6, src: "2001:db8::1", dst: "2001:db8::77", hopLimit: 9 },
      l4: { kind: "icmpv6", icmp, body: payload },
    });
    const r = residual([...words(before, 8, 40), u16(before, 42), u16(before, 40)]);
    expect(update([...words(after, 8, 40), u16(after, 40), r])).toBe(u16(after, 42));
  });

  it("ICMP echo -> ICMPv6 (ingress: -csum -type, the IPv4 addresses not subtracted; +type6 +pseudo6)", () => {
    const icmp = { type: 8, code: 0, rest: echoRest(7, 3) };
    const before = buildIpPacket({
      ip: { version: 4, src: "10.0.0.1", dst: "10.9.9.9", ttl: 9 },
      l4: { kind: "icmp", icmp, body: payload },
    });
    const after = buildIpPacket({
      ip: { version: 6, src: "64:ff9b::a00:1", dst: "2001:db8::9", hopLimit: 9 },
      l4: { kind: "icmpv6", icmp: { ...icmp, type: 128 }, body: payload },
    });
    const r = residual([u16(before, 22), u16(before, 20)]);
    const list = [u16(after, 40), ...words(after, 8, 40), u16(after, 4), 58, r];
    expect(update(list)).toBe(u16(after, 42));
  });

  it("ICMPv6 echo -> ICMP (ingress: -src6 -dst6 -csum -type6; +type4 +~len +~58)", () => {
    const icmp = { type: 129, code: 0, rest: echoRest(9, 1) };
    const before = buildIpPacket({
      ip: { version: 6, src: "2001:db8::1", dst: "64:ff9b::a09:909", hopLimit: 9 },
      l4: { kind: "icmpv6", icmp, body: payload },
    });
    const after = buildIpPacket({
      ip: { version: 4, src: "192.0.2.1", dst: "10.9.9.9", ttl: 9 },
      l4: { kind: "icmp", icmp: { ...icmp, type: 0 }, body: payload },
    });
    const r = residual([...words(before, 8, 40), u16(before, 42), u16(before, 40)]);
    const list = [u16(after, 20), ~u16(before, 4) & 0xffff, ~58 & 0xffff, r];
    expect(update(list)).toBe(u16(after, 22));
  });

  it("heartbeat reflection (-src -dst -csum, heartbeat kept; + swapped addresses, new type word, reflect_ts, ~old values)", () => {
    const spec = (type: number, reflect: bigint, src: string, dst: string): PacketSpec => ({
      ip: { version: 4, src, dst, ttl: 64 },
      l4: {
        kind: "heartbeat",
        heartbeat: { type, sequence: 77, originId: 3, originTimestamp: 123456789n, reflectTimestamp: reflect, flags: 1 },
      },
    });
    // A request with a non-zero reflect_ts too: the old value is taken out from its copy.
    for (const oldReflect of [0n, 0x0a0b_0c0d_0e0f_1011n]) {
      const before = buildIpPacket(spec(1, oldReflect, "10.0.0.1", "10.0.0.2"));
      const after = buildIpPacket(spec(2, 0x0001_2345_6789_abcdn, "10.0.0.2", "10.0.0.1"));
      const hb = (p: Uint8Array) => [u16(p, 28), ...words(p, 44, 52)];
      const r = residual([...words(before, 12, 20), u16(before, 26)]);
      expect(update([...words(after, 12, 20), ...hb(after), ...neg(hb(before)), r], true)).toBe(u16(after, 26));
    }
  });
});
