/**
 * nat64 (p4/controls/nat64.p4, with p4/controls/xlate.p4): IPv6/IPv4
 * translation (RFC 7915, RFC 6052, explicit mappings), byte-exact, and the
 * drops of what cannot be translated. Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildFrame, bytesToHex, echoRest } from "../../src/packet/index.js";
import type { PacketSpec } from "../../src/packet/index.js";
import { dataplane, dataplaneKinds, DF, frame, hostMac, installForwarding, installNat64, swMac, text } from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`nat64 (IPv6/IPv4 translation (RFC 7915, RFC 6052, explicit mappings)) on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, only, counter } = h;
    beforeAll(async () => {
      await installForwarding(h);
      await installNat64(h);
    });

    const v6 = (src: string, dst: string, l4: PacketSpec["l4"], hopLimit = 20): PacketSpec => ({
      ip: { version: 6, src, dst, hopLimit, dscp: 5, ecn: 1, flowLabel: 0x12345 },
      l4,
    });
    type V4Extra = { identification?: number; flags?: number; options?: Uint8Array };
    const v4 = (src: string, dst: string, l4: PacketSpec["l4"], ttl = 19, extra: V4Extra = {}): PacketSpec => ({
      ip: {
        version: 4,
        src,
        dst,
        ttl,
        dscp: 5,
        ecn: 1,
        identification: extra.identification ?? 0,
        flags: extra.flags ?? DF,
        ...(extra.options ? { options: extra.options } : {}),
      },
      l4,
    });
    const udpL4 = (payload = "xlate"): PacketSpec["l4"] => ({ kind: "udp", udp: { srcPort: 3333, dstPort: 53 }, payload: text(payload) });
    const tcpL4: PacketSpec["l4"] = {
      kind: "tcp",
      tcp: { srcPort: 40000, dstPort: 80, seq: 1000, flags: 0x02, window: 5000 },
      payload: text("GET"),
    };
    const out2 = (packet: PacketSpec): string => bytesToHex(buildFrame({ ethernet: { dst: hostMac(2), src: swMac(2) }, packet }));

    it("IPv6 -> IPv4: UDP, TCP and ICMPv6 echo -> ICMP echo, byte-exact with recomputed checksums", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const cases: Array<[PacketSpec["l4"], PacketSpec["l4"]]> = [
        [udpL4(), udpL4()],
        [tcpL4, tcpL4],
        [
          { kind: "icmpv6", icmp: { type: 128, rest: echoRest(0x77, 3) }, body: text("ping") },
          { kind: "icmp", icmp: { type: 8, rest: echoRest(0x77, 3) }, body: text("ping") },
        ],
        [
          { kind: "icmpv6", icmp: { type: 129, rest: echoRest(0x78, 4) }, body: text("pong!") },
          { kind: "icmp", icmp: { type: 0, rest: echoRest(0x78, 4) }, body: text("pong!") },
        ],
      ];
      for (const [inL4, outL4] of cases) {
        const { out } = await exchange(1, frame({ from: 1, packet: v6("2001:db8:1::5", "64:ff9b::10.2.0.10", inL4) }));
        expect(bytesToHex(only(out, 2) && out.get(2)![0]!), inL4.kind).toBe(out2(v4("192.0.2.5", "10.2.0.10", outL4)));
      }
    });

    it("IPv4 -> IPv6: UDP, TCP, ICMP echo -> ICMPv6 echo (pseudo-header added), options dropped", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const src6 = "64:ff9b::a01:1";
      const dst6 = "2001:db8:64::c612:7";
      const cases: Array<[PacketSpec["l4"], PacketSpec["l4"], Uint8Array | undefined]> = [
        [udpL4(), udpL4(), undefined],
        [tcpL4, tcpL4, undefined],
        [
          { kind: "icmp", icmp: { type: 8, rest: echoRest(1, 2) }, body: text("ping") },
          { kind: "icmpv6", icmp: { type: 128, rest: echoRest(1, 2) }, body: text("ping") },
          undefined,
        ],
        [udpL4("with options"), udpL4("with options"), Uint8Array.of(1, 1, 1, 0)],
      ];
      for (const [inL4, outL4, options] of cases) {
        const input = v4("10.1.0.1", "198.18.0.7", inL4, 20, { identification: 99, flags: 0, ...(options ? { options } : {}) });
        const { out } = await exchange(1, frame({ from: 1, packet: input }));
        const expected: PacketSpec = { ip: { version: 6, src: src6, dst: dst6, hopLimit: 19, dscp: 5, ecn: 1 }, l4: outL4 };
        expect(bytesToHex(only(out, 2) && out.get(2)![0]!), inL4.kind).toBe(out2(expected));
      }
    });

    it("drops what cannot be translated", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const drops: PacketSpec[] = [
        v6("2001:db8:1::6", "64:ff9b::10.2.0.10", udpL4()), // source without mapping
        v6("2001:db8:1::5", "64:ff9b::10.2.0.10", { kind: "icmpv6", icmp: { type: 1, code: 4 }, body: new Uint8Array(8) }), // ICMPv6 error
        {
          ip: { version: 6, src: "2001:db8:1::5", dst: "64:ff9b::10.2.0.10", hopByHopOptions: Uint8Array.of(1, 4, 0, 0, 0, 0) },
          l4: udpL4(),
        },
        v4("10.1.0.1", "198.18.0.7", { kind: "udp", udp: { srcPort: 1, dstPort: 2, checksum: 0 }, payload: text("no csum") }, 20),
        v4("10.1.0.1", "198.18.0.7", udpL4(), 20, { flags: 0b001 }), // first fragment
        v4("10.5.0.1", "198.18.0.7", udpL4(), 20), // source without mapping
        v4("10.1.0.1", "198.18.0.7", { kind: "icmp", icmp: { type: 3, code: 1 }, body: new Uint8Array(28) }, 20),
      ];
      for (const packet of drops) {
        const { out } = await exchange(1, frame({ from: 1, packet }));
        expect(out.size, JSON.stringify(packet.ip)).toBe(0);
      }
      expect((await counter("ingress.ingress_drop_counter", 11)).packets).toBeGreaterThanOrEqual(BigInt(drops.length));
    });
  });
}
