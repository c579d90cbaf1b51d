/**
 * session-encap (p4/controls/session_encap.p4): at the ingress router a
 * session's packets are wrapped (outer IPv4 protocol 253 + shim with the
 * session's sequence number) and replicated to the tree and the overlay.
 * Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildFrame, bytesToHex, checksumProblems, decodeFrame, ipv4MulticastMac } from "../../src/packet/index.js";
import type { PacketSpec } from "../../src/packet/index.js";
import { dataplane, dataplaneKinds, DF, frame, hostMac, installSessionEncap, swMac, text, udp4 } from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`session-encap (encapsulation at the ingress router, tree and overlay replicas) on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, register } = h;
    beforeAll(() => installSessionEncap(h));

    it("wraps the packet (outer IPv4 proto 253 + shim with sequence) and replicates to the tree and the overlay", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      for (const seq of [0, 1]) {
        const inner = udp4("10.1.0.1", "10.9.0.1", 7000, { payload: text(`payload ${seq}`) });
        const { out } = await exchange(1, frame({ from: 1, packet: inner }));
        expect([...out.keys()].sort()).toEqual([2, 3]);
        const innerOut = udp4("10.1.0.1", "10.9.0.1", 7000, { payload: text(`payload ${seq}`), ttl: 63 });
        const tree = buildFrame({
          ethernet: { dst: ipv4MulticastMac("232.1.1.5"), src: swMac(2) },
          encap: { outer: { src: "192.0.2.1", dst: "232.1.1.5", ttl: 64, flags: DF }, shim: { sessionId: 5, sequence: seq } },
          packet: innerOut,
        });
        expect(bytesToHex(out.get(2)![0]!)).toBe(bytesToHex(tree));
        const overlay = buildFrame({
          ethernet: { dst: hostMac(3), src: swMac(3) },
          encap: { outer: { src: "192.0.2.1", dst: "198.51.100.9", ttl: 64, flags: DF }, shim: { sessionId: 5, sequence: seq, flags: 1 } },
          packet: innerOut,
        });
        expect(bytesToHex(out.get(3)![0]!)).toBe(bytesToHex(overlay));
      }
      expect(await register("ingress.encap.session_seq", 5)).toBe(2n);
    });

    it("wraps IPv6 sessions with next header 41", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const inner: PacketSpec = {
        ip: { version: 6, src: "2001:db8:1::1", dst: "2001:db8:9::1", hopLimit: 30 },
        l4: { kind: "udp", udp: { srcPort: 1, dstPort: 7000 } },
      };
      const { out } = await exchange(1, frame({ from: 1, packet: inner }));
      const d = decodeFrame(out.get(2)![0]!);
      expect(d.outer?.shim).toMatchObject({ nextHeader: 41, sessionId: 6, sequence: 0 });
      expect(d.ip?.version === 6 && d.ip.header.hopLimit).toBe(29);
      expect(checksumProblems(d)).toEqual([]);
    });

    it("does not encapsulate other ports, TTL-1 packets or non-first fragments", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      expect((await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.9.0.1", 7001) }))).out.size).toBe(0); // no route to 10.9/16
      expect((await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 1 }) }))).out.size).toBe(0);
      // A first fragment (MF) of a session's datagram is routed (here: no route), not encapsulated.
      const seqBefore = await register("ingress.encap.session_seq", 5);
      const mf: PacketSpec = {
        ip: { version: 4, src: "10.1.0.1", dst: "10.9.0.1", flags: 0b001 },
        l4: { kind: "udp", udp: { srcPort: 1, dstPort: 7000 } },
      };
      expect((await exchange(1, frame({ from: 1, packet: mf }))).out.size).toBe(0);
      expect(await register("ingress.encap.session_seq", 5)).toBe(seqBefore);
    });
  });
}
