/**
 * build -> parse round trips for every protocol module and for whole frames,
 * with checksum verification, plus rejection of truncated input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  HEARTBEAT_UDP_PORT,
  IpProtocol,
  buildFrame,
  buildHeartbeat,
  buildIpv4,
  buildIpv6,
  buildPacketIn,
  buildPacketOut,
  buildShim,
  buildTcp,
  buildUdp,
  checksumProblems,
  decodeFrame,
  echoRest,
  ipv4HeaderChecksumValid,
  isPacketError,
  normalizeIpv6,
  parseHeartbeat,
  parseIpv4,
  parseIpv6,
  parsePacketIn,
  parsePacketOut,
  parseShim,
  parseTcp,
  parseUdp,
  tcpChecksumValid,
  udpChecksumValid,
} from "../../src/packet/index.js";
import type { IpContext, PacketSpec } from "../../src/packet/index.js";

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const payload = fc.uint8Array({ maxLength: 64 });
const mac = fc.tuple(u8, u8, u8, u8, u8, u8).map((b) => b.map((x) => x.toString(16).padStart(2, "0")).join(":"));
const ctx4 = fc.record({ version: fc.constant(4 as const), src: fc.ipV4(), dst: fc.ipV4() });
const ctx6 = fc.record({
  version: fc.constant(6 as const),
  src: fc.ipV6().map(normalizeIpv6),
  dst: fc.ipV6().map(normalizeIpv6),
});
const ctx: fc.Arbitrary<IpContext> = fc.oneof(ctx4, ctx6);

function throwsPacketError(f: () => unknown): boolean {
  try {
    f();
  } catch (e) {
    return isPacketError(e);
  }
  return false;
}

describe("per-protocol round trips", () => {
  it("IPv4 with options", () => {
    fc.assert(
      fc.property(
        ctx4,
        fc.record({
          dscp: fc.integer({ min: 0, max: 63 }),
          ecn: fc.integer({ min: 0, max: 3 }),
          ttl: u8,
          identification: u16,
          protocol: u8,
        }),
        fc.integer({ min: 0, max: 10 }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n })),
        payload,
        (c, f, options, data) => {
          const bytes = buildIpv4({ src: c.src, dst: c.dst, ...f, options }, data);
          expect(ipv4HeaderChecksumValid(bytes)).toBe(true);
          const { header, payload: p } = parseIpv4(bytes);
          expect(header).toMatchObject({ ...f, src: c.src, dst: c.dst, ihl: 5 + options.length / 4 });
          expect(Array.from(header.options)).toEqual(Array.from(options));
          expect(Array.from(p)).toEqual(Array.from(data));
          // Any truncation is rejected.
          expect(throwsPacketError(() => parseIpv4(bytes.subarray(0, bytes.length - 1)))).toBe(true);
        },
      ),
    );
  });

  it("IPv6 with and without Hop-by-Hop", () => {
    fc.assert(
      fc.property(
        ctx6,
        fc.record({
          dscp: fc.integer({ min: 0, max: 63 }),
          ecn: fc.integer({ min: 0, max: 3 }),
          hopLimit: u8,
          flowLabel: fc.integer({ min: 0, max: 0xfffff }),
          nextHeader: fc.integer({ min: 1, max: 255 }),
        }),
        fc.option(
          fc.integer({ min: 0, max: 3 }).chain((n) => fc.uint8Array({ minLength: 6 + 8 * n, maxLength: 6 + 8 * n })),
          { nil: undefined },
        ),
        payload,
        (c, f, hbh, data) => {
          const bytes = buildIpv6({ src: c.src, dst: c.dst, ...f, ...(hbh ? { hopByHopOptions: hbh } : {}) }, data);
          const p = parseIpv6(bytes);
          expect(p.header).toMatchObject({
            src: c.src,
            dst: c.dst,
            dscp: f.dscp,
            ecn: f.ecn,
            hopLimit: f.hopLimit,
            flowLabel: f.flowLabel,
          });
          expect(p.upperProtocol).toBe(f.nextHeader);
          expect(p.header.nextHeader).toBe(hbh ? IpProtocol.HOPOPT : f.nextHeader);
          if (hbh) expect(Array.from(p.hopByHop?.options ?? [])).toEqual(Array.from(hbh));
          expect(Array.from(p.payload)).toEqual(Array.from(data));
          expect(throwsPacketError(() => parseIpv6(bytes.subarray(0, bytes.length - 1)))).toBe(true);
        },
      ),
    );
  });

  it("UDP and TCP checksums verify over both families, and catch a flipped bit", () => {
    fc.assert(
      fc.property(ctx, u16, u16, payload, u32, (c, sp, dp, data, seq) => {
        const udp = buildUdp({ srcPort: sp, dstPort: dp }, data, c);
        expect(udpChecksumValid(udp, c)).toBe(true);
        expect(parseUdp(udp).header).toMatchObject({ srcPort: sp, dstPort: dp, length: 8 + data.length });
        const tcp = buildTcp({ srcPort: sp, dstPort: dp, seq, flags: 0x18, window: 1000 }, data, c);
        expect(tcpChecksumValid(tcp, c)).toBe(true);
        expect(parseTcp(tcp).header).toMatchObject({ srcPort: sp, dstPort: dp, seq, flags: 0x18, window: 1000 });
        const bad = Uint8Array.from(tcp);
        bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x01;
        expect(tcpChecksumValid(bad, c)).toBe(false);
      }),
    );
  });

  it("shim, heartbeat, packet-in, packet-out", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.constantFrom(4, 41), u16, u32, (flags, nextHeader, sessionId, sequence) => {
        expect(parseShim(buildShim({ flags, nextHeader, sessionId, sequence })).header).toEqual({
          version: 1,
          flags,
          nextHeader,
          sessionId,
          sequence,
        });
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        u8,
        u16,
        u32,
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (type, flags, originId, sequence, originTimestamp, reflectTimestamp) => {
          const spec = { type, flags, originId, sequence, originTimestamp, reflectTimestamp };
          expect(parseHeartbeat(buildHeartbeat(spec))).toEqual({ version: 1, ...spec });
        },
      ),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 511 }), u8, u16, fc.integer({ min: 0, max: 127 }), (port, reason, aux, flags) => {
        expect(parsePacketIn(buildPacketIn({ ingressPort: port, reason, aux })).header).toEqual({ ingressPort: port, reason, aux });
        expect(parsePacketOut(buildPacketOut({ egressPort: port, flags })).header).toEqual({ egressPort: port, flags });
      }),
    );
    // Bit layout: port 255 is 0x7f80 in the first 16 bits.
    expect(Array.from(buildPacketOut({ egressPort: 255, flags: 1 }))).toEqual([0x7f, 0x81]);
    expect(Array.from(buildPacketIn({ ingressPort: 3, reason: 2, aux: 0x0102 }))).toEqual([0x01, 0x80, 0x02, 0x01, 0x02]);
  });
});

const packetSpec: fc.Arbitrary<PacketSpec> = fc.oneof(
  fc.record({
    ip: ctx4.map((c) => ({ ...c, ttl: 9 })),
    l4: fc.record({
      kind: fc.constant("udp" as const),
      udp: fc.record({ srcPort: u16, dstPort: u16.filter((p) => p !== HEARTBEAT_UDP_PORT) }),
      payload,
    }),
  }),
  fc.record({
    ip: ctx6,
    l4: fc.record({ kind: fc.constant("tcp" as const), tcp: fc.record({ srcPort: u16, dstPort: u16, seq: u32 }), payload }),
  }),
  fc.record({
    ip: ctx4,
    l4: fc.record({ kind: fc.constant("icmp" as const), icmp: fc.record({ type: fc.constantFrom(0, 8), rest: u32 }), body: payload }),
  }),
  fc.record({
    ip: ctx6,
    l4: fc.record({ kind: fc.constant("icmpv6" as const), icmp: fc.record({ type: fc.constantFrom(128, 129), rest: u32 }), body: payload }),
  }),
  fc.record({
    ip: ctx4,
    l4: fc.record({ kind: fc.constant("heartbeat" as const), heartbeat: fc.record({ type: fc.constantFrom(1, 2), sequence: u32 }) }),
  }),
);

describe("frames", () => {
  it("build -> decode keeps every field and every checksum verifies (plain and encapsulated)", () => {
    fc.assert(
      fc.property(
        mac,
        mac,
        packetSpec,
        fc.option(fc.record({ sessionId: u16, sequence: u32, flags: fc.constantFrom(0, 1) }), { nil: undefined }),
        fc.uint8Array({ maxLength: 8 }),
        (dst, src, packet, shim, trailer) => {
          const frame = buildFrame({
            ethernet: { dst, src },
            packet,
            trailer,
            ...(shim ? { encap: { outer: { src: "192.0.2.1", dst: "239.1.1.1" }, shim } } : {}),
          });
          const d = decodeFrame(frame);
          expect(d.ethernet).toMatchObject({ dst, src });
          expect(checksumProblems(d)).toEqual([]);
          expect(Array.from(d.trailer)).toEqual(Array.from(trailer));
          if (shim) {
            expect(d.outer?.shim).toMatchObject(shim);
            expect(d.outer?.shim.nextHeader).toBe(packet.ip.version === 4 ? 4 : 41);
            expect(d.outer?.ipv4.protocol).toBe(253);
          } else {
            expect(d.outer).toBeUndefined();
          }
          expect(d.ip?.version).toBe(packet.ip.version);
          expect(d.ip?.header.src).toBe(packet.ip.src);
          expect(d.ip?.l4.kind).toBe(packet.l4.kind === "heartbeat" ? "udp" : packet.l4.kind);
          if (packet.l4.kind === "heartbeat" && d.ip?.l4.kind === "udp") {
            expect(d.ip.l4.heartbeat?.sequence).toBe(packet.l4.heartbeat.sequence);
          }
        },
      ),
    );
  });

  it("packet-out / packet-in prefixes", () => {
    const packet: PacketSpec = {
      ip: { version: 4, src: "10.0.0.1", dst: "10.0.0.2" },
      l4: { kind: "icmp", icmp: { type: 8, rest: echoRest(1, 2) } },
    };
    const out = buildFrame({
      ethernet: { dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01" },
      packet,
      packetOut: { egressPort: 3, flags: 1 },
    });
    const d = decodeFrame(out, { packetOut: true });
    expect(d.packetOut).toEqual({ egressPort: 3, flags: 1 });
    expect(checksumProblems(d)).toEqual([]);
    const inFrame = new Uint8Array([...buildPacketIn({ ingressPort: 7, reason: 1, aux: 0 }), ...out.subarray(2)]);
    expect(decodeFrame(inFrame, { packetIn: true }).packetIn).toEqual({ ingressPort: 7, reason: 1, aux: 0 });
  });

  it("rejects truncated frames and wrong versions", () => {
    const frame = buildFrame({
      ethernet: { dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01" },
      packet: { ip: { version: 6, src: "2001:db8::1", dst: "2001:db8::2" }, l4: { kind: "udp", udp: { srcPort: 1, dstPort: 2 } } },
    });
    for (let cut = 0; cut < frame.length; cut++) {
      expect(throwsPacketError(() => decodeFrame(frame.subarray(0, cut)))).toBe(true);
    }
    const wrongVersion = Uint8Array.from(frame);
    wrongVersion[14] = 0x45; // IPv4 nibble under an IPv6 EtherType
    expect(throwsPacketError(() => decodeFrame(wrongVersion))).toBe(true);
  });

  it("does not parse L4 of a non-first IPv4 fragment", () => {
    const bytes = buildFrame({
      ethernet: { dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01" },
      packet: {
        ip: { version: 4, src: "10.0.0.1", dst: "10.0.0.2", fragmentOffset: 10 },
        l4: { kind: "raw", protocol: 17, bytes: new Uint8Array(3) },
      },
    });
    expect(decodeFrame(bytes).ip?.l4.kind).toBe("other");
  });
});
