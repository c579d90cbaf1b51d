/**
 * mcast-xlate (p4/controls/mcast_xlate.p4, with p4/controls/xlate.p4):
 * multicast (S,G) translation between IPv4 and IPv6 (RFC 8114 style), then
 * tree replication. Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildFrame, bytesToHex, ipv4MulticastMac } from "../../src/packet/index.js";
import type { PacketSpec } from "../../src/packet/index.js";
import { dataplane, dataplaneKinds, DF, frame, installMcastXlate, swMac, text } from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`mcast-xlate (multicast address translation (RFC 8114 style)) on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, only } = h;
    beforeAll(() => installMcastXlate(h));

    const l4: PacketSpec["l4"] = { kind: "udp", udp: { srcPort: 5004, dstPort: 5004 }, payload: text("media") };

    it("IPv4 (S,G) -> IPv6: G6 = ff3e::/96 + G4, S6 = 64:ff9b::/96 + S4, replicated", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const packet: PacketSpec = { ip: { version: 4, src: "10.1.0.1", dst: "232.2.0.1", ttl: 10 }, l4 };
      const { out } = await exchange(1, frame({ from: 1, dst: ipv4MulticastMac("232.2.0.1"), packet }));
      expect([...out.keys()].sort()).toEqual([2, 3]);
      for (const p of [2, 3]) {
        const expected = buildFrame({
          ethernet: { dst: "33:33:e8:02:00:01", src: swMac(p) },
          packet: { ip: { version: 6, src: "64:ff9b::a01:1", dst: "ff3e::e802:1", hopLimit: 9 }, l4 },
        });
        expect(bytesToHex(out.get(p)![0]!)).toBe(bytesToHex(expected));
      }
    });

    it("IPv6 (S,G) -> IPv4, and drops sources outside the unicast prefix", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const f = (src: string): Uint8Array =>
        frame({ from: 1, dst: "33:33:e8:03:00:01", packet: { ip: { version: 6, src, dst: "ff3e::1:e803:1", hopLimit: 10 }, l4 } });
      const { out } = await exchange(1, f("64:ff9b::10.1.0.1"));
      const expected = buildFrame({
        ethernet: { dst: ipv4MulticastMac("232.3.0.1"), src: swMac(4) },
        packet: { ip: { version: 4, src: "10.1.0.1", dst: "232.3.0.1", ttl: 9, flags: DF }, l4 },
      });
      expect(bytesToHex(only(out, 4) && out.get(4)![0]!)).toBe(bytesToHex(expected));
      expect((await exchange(1, f("2001:db8::1"))).out.size).toBe(0);
    });
  });
}
