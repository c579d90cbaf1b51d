/**
 * l3-forward (p4/controls/l3_forward.p4): IPv4 / IPv6 routing by LPM to a
 * next hop, TTL / hop limit decrement, and the drops of what must not be
 * routed. Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildFrame, bytesToHex } from "../../src/packet/index.js";
import type { PacketSpec } from "../../src/packet/index.js";
import { dataplane, dataplaneKinds, frame, hostMac, installForwarding, swMac, text, udp4 } from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`l3-forward (L2/L3 forwarding) on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, only } = h;
    beforeAll(() => installForwarding(h));

    it("loads the compiled program", () => {
      expect(h.c.index.tables.size).toBeGreaterThan(15);
    });

    it("routes IPv4: port, MACs, TTL - 1, header checksum", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const { out } = await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.9", 9999) }));
      const d = only(out, 2);
      expect(d.ethernet).toEqual({ dst: hostMac(2), src: swMac(2), etherType: 0x0800 });
      expect(d.ip?.header).toMatchObject({ ttl: 63, src: "10.1.0.1", dst: "10.2.0.9" });
      // Exactly the input with TTL 63 and the new checksum.
      const expected = buildFrame({
        ethernet: { dst: hostMac(2), src: swMac(2) },
        packet: udp4("10.1.0.1", "10.2.0.9", 9999, { ttl: 63 }),
      });
      expect(bytesToHex(out.get(2)![0]!)).toBe(bytesToHex(expected));
    });

    it("routes IPv6 with hop limit - 1", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const packet: PacketSpec = {
        ip: { version: 6, src: "2001:db8:1::1", dst: "2001:db8:2::5", hopLimit: 9 },
        l4: { kind: "udp", udp: { srcPort: 1, dstPort: 2 } },
      };
      const { out } = await exchange(1, frame({ from: 1, packet }));
      const d = only(out, 2);
      expect(d.ip?.version === 6 && d.ip.header.hopLimit).toBe(8);
    });

    it("drops TTL 0 and TTL 1, forwards TTL 2 with TTL 1", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      for (const ttl of [0, 1]) {
        const { out } = await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.9", 9999, { ttl }) }));
        expect(out.size, `TTL ${ttl}`).toBe(0);
      }
      const { out } = await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.9", 9999, { ttl: 2 }) }));
      expect(only(out, 2).ip?.header).toMatchObject({ ttl: 1 });
    });

    it("drops no-route, bad IPv4 checksum, truncated and wrong-version packets", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      expect((await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.3.0.1", 1) }))).out.size).toBe(0);
      const good = frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.9", 9999) });
      const badSum = Uint8Array.from(good);
      badSum[24] = (badSum[24] ?? 0) ^ 0xff;
      expect((await exchange(1, badSum)).out.size).toBe(0);
      expect((await exchange(1, good.subarray(0, 14 + 20 + 4))).out.size).toBe(0); // UDP header cut
      expect((await exchange(1, good.subarray(0, good.length - 2))).out.size).toBe(0); // total length > frame
      const v6in4 = Uint8Array.from(good);
      v6in4[14] = 0x65;
      expect((await exchange(1, v6in4)).out.size).toBe(0);
      const ihl4 = Uint8Array.from(good);
      ihl4[14] = 0x44;
      expect((await exchange(1, ihl4)).out.size).toBe(0);
    });

    it("IPv6: drops truncated and wrong-version packets, forwards a Hop-by-Hop header untouched", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const packet: PacketSpec = {
        ip: { version: 6, src: "2001:db8:1::1", dst: "2001:db8:2::5", hopLimit: 9, hopByHopOptions: Uint8Array.of(1, 4, 0, 0, 0, 0) },
        l4: { kind: "udp", udp: { srcPort: 1, dstPort: 2 }, payload: text("hbh") },
      };
      const good = frame({ from: 1, packet });
      expect((await exchange(1, good.subarray(0, good.length - 1))).out.size).toBe(0);
      const v4in6 = Uint8Array.from(good);
      v4in6[14] = 0x45;
      expect((await exchange(1, v4in6)).out.size).toBe(0);
      const { out } = await exchange(1, good);
      const expected = buildFrame({
        ethernet: { dst: hostMac(2), src: swMac(2) },
        packet: {
          ...packet,
          ip: { version: 6, src: "2001:db8:1::1", dst: "2001:db8:2::5", hopLimit: 8, hopByHopOptions: Uint8Array.of(1, 4, 0, 0, 0, 0) },
        },
      });
      expect(bytesToHex(only(out, 2) && out.get(2)![0]!)).toBe(bytesToHex(expected));
    });

    it("forwards IPv4 with options and an unknown protocol untouched except TTL", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const ip = { version: 4 as const, src: "10.1.0.1", dst: "10.2.0.9", options: Uint8Array.of(1, 1, 1, 0) };
      const l4 = { kind: "raw" as const, protocol: 200, bytes: Uint8Array.of(1, 2, 3, 4, 5) };
      const packet: PacketSpec = { ip: { ...ip, ttl: 5 }, l4 };
      const { out } = await exchange(1, frame({ from: 1, packet }));
      const d = only(out, 2);
      expect(d.ip?.version === 4 && d.ip.header.ihl).toBe(6);
      const expected = buildFrame({
        ethernet: { dst: hostMac(2), src: swMac(2) },
        packet: { ip: { ...ip, ttl: 4 }, l4 },
      });
      expect(bytesToHex(out.get(2)![0]!)).toBe(bytesToHex(expected));
    });
  });
}
